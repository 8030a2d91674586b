"""`chatbotmaker check`: unknown tables and keys of every table, every problem of a table one
per line, secrets that make every request fail, users in removed states, all on stderr; and
it never creates or changes a database."""

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, make_url, text

from chatbotmaker_core import Bot
from chatbotmaker_core.cli import main

FIXTURES = Path(__file__).parent / "fixtures"

CONFIG = """
[bot]
initial_state = "echo"

[messenger]
name = "dev"

[database]
name = "sqlalchemy"
url = "{url}"

[rules]
name = "python"
source = "echo_rules:RULES"
"""

FACEBOOK = """
[messenger]
name = "facebook"
page_access_token = "page-token"
"""


@pytest.fixture(autouse=True)
def rules_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES))


@pytest.fixture
def write(tmp_path):
    def write(text: str, url: str = "") -> str:
        path = tmp_path / "chatbotmaker.toml"
        path.write_text(text.replace("{url}", url or f"sqlite:///{tmp_path}/bot.db"))
        return str(path)

    return write


def run_check(capsys, path: str) -> tuple[int, list[str], list[str]]:
    code = main(["check", path])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out.splitlines(), captured.err.splitlines()


def errors_of(lines: list[str]) -> list[str]:
    return [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]


def test_unknown_table_suggests_the_known_one(capsys, write):
    path = write(CONFIG.replace("[messenger]", "[messanger]"))
    code, out, err = run_check(capsys, path)
    assert code == 1 and out == []
    assert errors_of(err)[0] == (
        "unknown table [messanger] (did you mean [messenger]?); "
        "known tables: bot, messenger, messengers, database, rules, worker, metrics"
    )
    assert 'missing table [messenger]; add it with at least name = "..."' in errors_of(err)
    assert err[-1] == f"{path}: 2 problems"


def test_unknown_top_level_key(capsys, write):
    code, _, err = run_check(capsys, write('initial_state = "echo"\n' + CONFIG))
    assert code == 1
    assert errors_of(err) == [
        "unknown top-level key 'initial_state': every option belongs in a table (bot, "
        "messenger, messengers, database, rules, worker, metrics); move it under its [table] header"
    ]


@pytest.mark.parametrize(
    "table, line, expected",
    [
        (
            "bot",
            "inital_state = 'echo'",
            "[bot] unknown option 'inital_state' (did you mean 'initial_state'?)",
        ),
        ("messenger", "colour = 'red'", "[messenger] unknown option 'colour' for 'dev'"),
        (
            "rules",
            "sauce = 'x'",
            "[rules] unknown option 'sauce' for 'python' (did you mean "
            "'source'?); accepted: source",
        ),
        (
            "database",
            "pool_sise = 3",
            "[database] Invalid argument(s) 'pool_sise' sent to create_engine()",
        ),
        (
            "worker",
            "concurency = 2",
            "[worker] unknown option 'concurency' (did you mean 'concurrency'?)",
        ),
    ],
)
def test_unknown_key_of_every_table(capsys, write, table, line, expected):
    text = CONFIG + "\n[worker]\n" if table == "worker" else CONFIG
    code, _, err = run_check(capsys, write(text.replace(f"[{table}]\n", f"[{table}]\n{line}\n")))
    assert code == 1
    assert len(errors_of(err)) == 1 and errors_of(err)[0].startswith(expected), err


def test_every_problem_of_a_table_one_per_line(capsys, write):
    text = (
        CONFIG.replace(
            'initial_state = "echo"',
            'initial_state = "echo"\nmode = "fast"\nsend_attempts = 0\nsend_deadline = -1',
        ).replace(
            '[messenger]\nname = "dev"',
            FACEBOOK + 'timeout = 0\nturn_action = "wave"\napp_secret = 3\nverify_token = "v"',
        )
        + "[worker]\nconcurrency = 0\npoll_interval = 0\nwait = 1\n"
    )
    code, _, err = run_check(capsys, write(text))
    assert code == 1
    assert errors_of(err) == [
        "[bot] send_attempts = 0 is out of range: it must be >= 1 (1 sends once without retry;"
        " 0 would drop every reply)",
        "[bot] send_deadline = -1 is out of range: it must be > 0 (seconds a turn's sends may "
        "take)",
        "[bot] mode must be one of inline, queued, got 'fast'",
        "[messenger] facebook: app_secret must be a string",
        "[messenger] facebook: timeout = 0 is out of range: it must be a finite number of "
        "seconds > 0",
        "[messenger] facebook: turn_action must be one of typing_on, mark_seen, none, got 'wave'",
        "[worker] concurrency = 0 is out of range: it must be >= 1 (jobs run at once)",
        "[worker] poll_interval = 0 is out of range: it must be > 0 (seconds)",
        "[worker] wait must be true or false, got 1",
    ]


@pytest.mark.parametrize(
    "options, expected",
    [
        (
            'app_secret = ""\nverify_token = "v"',
            [
                "[messenger] facebook: app_secret is empty: the webhook refuses every POST (403); "
                "set it to the app secret (App settings > Basic), or insecure_allow_unsigned = "
                "true for local tests"
            ],
        ),
        (
            'app_secret = "s3cret"',
            [
                "[messenger] facebook: verify_token is missing or empty: Meta's webhook "
                "verification (GET) always fails; set it to the string you type in the webhook "
                "setup"
            ],
        ),
        ('app_secret = "s3cret"\nverify_token = ""', ["verify_token is missing or empty"]),
        ('insecure_allow_unsigned = true\nverify_token = "v"', []),
        ('app_secret = "s3cret"\nverify_token = "v"', []),
    ],
)
def test_secrets_that_make_every_request_fail(capsys, write, options, expected):
    text = CONFIG.replace('[messenger]\nname = "dev"', FACEBOOK + options)
    code, out, err = run_check(capsys, write(text))
    errors = errors_of(err)
    assert len(errors) == len(expected) and all(
        e in x for e, x in zip(expected, errors, strict=True)
    ), err
    assert code == (1 if expected else 0)
    assert "s3cret" not in "\n".join(err)


def test_check_does_not_create_a_sqlite_file(capsys, write, tmp_path):
    code, out, err = run_check(capsys, write(CONFIG))
    assert code == 0
    assert out == [
        f"{tmp_path}/chatbotmaker.toml: ok (messenger 'dev', database 'sqlalchemy', rules 'python')"
    ]
    assert err == [
        f"note: [database] the SQLite file '{tmp_path}/bot.db' does not exist yet; the bot "
        "creates it at start-up (check left it uncreated)"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chatbotmaker.toml"]


def populate(path: str, url: str) -> None:
    """Three users, then two of them put in a state the rules do not have, one in another."""
    bot = Bot.from_config(path)
    for user in ("ada", "bob", "cy", "dee"):
        bot.user_handle(user, "hi")
    bot.database.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET state = 'gone' WHERE fb_id IN ('ada', 'bob')"))
        conn.execute(text("UPDATE users SET state = 'old_menu' WHERE fb_id = 'cy'"))
    engine.dispose()


def snapshot(url: str) -> dict:
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = sorted(inspect(conn).get_table_names())
        rows = {t: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {t}")))) for t in tables}
    engine.dispose()
    return {"tables": tables, "rows": rows}


def test_warns_about_users_in_removed_states_read_only(capsys, write, db_url, tmp_path):
    path = write(CONFIG, db_url)
    populate(path, db_url)
    capsys.readouterr()  # the dev messenger's replies
    before = snapshot(db_url)
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    code, out, err = run_check(capsys, path)
    assert code == 0, err
    assert err == [
        "warning: [database] 2 users are in state 'gone', which the rules no longer have; they"
        " will be moved to the initial state 'echo' on their next message",
        "warning: [database] 1 user is in state 'old_menu', which the rules no longer have; "
        "they will be moved to the initial state 'echo' on their next message",
    ]
    assert out[0].endswith(
        "ok (messenger 'dev', database 'sqlalchemy', rules 'python'), 2 warnings"
    )
    assert snapshot(db_url) == before
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    assert after == files


@pytest.mark.postgres
def test_check_creates_no_table_in_an_empty_postgresql_database(capsys, write, postgres_server):
    url = postgres_server.create_database("check_empty")
    try:
        code, out, err = run_check(capsys, write(CONFIG, url))
        assert code == 0, err
        shown = make_url(url).render_as_string(hide_password=True)
        assert err == [
            f"note: [database] {shown} has no tables yet; the bot creates them at start-up (or "
            "run chatbotmaker init-db)"
        ]
        assert snapshot(url)["tables"] == []
    finally:
        postgres_server.drop_database("check_empty")


def test_queued_mode_needs_postgresql(capsys, write):
    text = CONFIG.replace('initial_state = "echo"', 'initial_state = "echo"\nmode = "queued"')
    code, _, err = run_check(capsys, write(text))
    assert code == 1
    assert errors_of(err) == [
        "[bot] mode = 'queued' needs PostgreSQL, but the database is sqlite; use mode = "
        "'inline' or a postgresql URL"
    ]


def test_check_knows_the_sqlite_busy_timeout(tmp_path, capsys):
    """``[database] busy_timeout`` is an option of ours, not an engine option."""
    config = tmp_path / "chatbotmaker.toml"
    good = _busy_config(tmp_path, 5)
    config.write_text(good)
    assert main(["check", str(config)]) == 0
    config.write_text(_busy_config(tmp_path, -1))
    assert main(["check", str(config)]) == 1
    assert "[database] busy_timeout must be a number of seconds from 0 to 3600" in (
        capsys.readouterr().err
    )


def _busy_config(folder, value):
    url = f"sqlite:///{folder}/bot.db"
    return CONFIG.format(url=url).replace(
        f'url = "{url}"', f'url = "{url}"\nbusy_timeout = {value}'
    )
