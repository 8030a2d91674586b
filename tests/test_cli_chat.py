"""``chatbotmaker chat``: always inline and printed, numbered options, undecodable input."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.support.cli import run, write_config
from tests.support.fake_graph import FakeGraph


def replies(result) -> list[str]:
    return result.stdout.decode().splitlines()


@pytest.mark.postgres
def test_chat_on_a_queued_facebook_config_prints_and_never_reaches_the_platform(
    postgres_server, tmp_path
):
    url = postgres_server.create_database("cli_chat_queued")
    graph = FakeGraph().start()
    try:
        config = tmp_path / "chatbotmaker.toml"
        config.write_text(
            '[bot]\nmode = "queued"\n'
            '[messenger]\nname = "facebook"\npage_access_token = "token"\n'
            f'app_secret = "secret"\nverify_token = "verify"\ngraph_url = "{graph.url}"\n'
            f'[database]\nname = "sqlalchemy"\nurl = "{url}"\n'
            '[rules]\nname = "python"\nsource = "cli_rules:RULES"\n'
        )
        result = run("chat", str(config), stdin="hello\n")
        assert result.returncode == 0, result.stderr
        assert replies(result) == ["terminal > got 'hello' (text)"]
        assert graph.messages() == [] and graph.actions() == []
        engine = create_engine(url)
        with engine.connect() as conn:
            queue = conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar()
            jobs = "SELECT count(*) FROM procrastinate_jobs"
            deferred = conn.execute(text(jobs)).scalar() if queue else 0
            stored = conn.execute(text("SELECT count(*) FROM arguments")).scalar()
        engine.dispose()
        assert deferred == 0
        assert stored == 1  # the turn ran, inline, on the configured database
    finally:
        graph.stop()
        postgres_server.drop_database("cli_chat_queued")


def test_a_typed_number_picks_the_payload_of_the_option_shown_with_it(tmp_path):
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/bot.db")
    script = "menu\n1\nmenu\n3\nmenu\n9\n2\n4\n"
    result = run("chat", str(config), stdin=script)
    assert result.returncode == 0, result.stderr
    menu = [
        "terminal > got 'menu' (text)",
        "terminal > Size?",
        "  1. Small",
        "  2. Large",
        "terminal > Or:",
        "  3. Start over",
        "  - Site: https://example.org",
    ]
    assert replies(result) == [
        *menu,
        "terminal > got 'SIZE_S' (quick_reply)",  # the payload, not the title
        *menu,
        "terminal > got 'RESTART' (postback)",  # numbering runs on across the turn's replies
        *menu,
        "terminal > got '9' (text)",  # out of range: the text as typed
        "terminal > got '2' (text)",  # no options pending: the text as typed
        "terminal > got '4' (text)",
    ]


def test_a_line_that_is_not_utf8_is_refused_in_one_line_and_chat_goes_on(tmp_path):
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/bot.db")
    result = run("chat", str(config), stdin=b"hello\n\xff\xfe caf\xe9\nafter\n")
    assert result.returncode == 0
    assert replies(result) == ["terminal > got 'hello' (text)", "terminal > got 'after' (text)"]
    assert result.stderr.decode().splitlines() == [
        "chat: line 2 is not valid UTF-8; ignored (the bot only receives UTF-8 text)"
    ]


def test_log_level_is_accepted_after_the_command(tmp_path):
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/bot.db")
    result = run("chat", str(config), "--log-level", "INFO", stdin="hello\n")
    assert result.returncode == 0, result.stderr
    assert replies(result) == ["terminal > got 'hello' (text)"]
    assert " INFO cli_rules: a turn in state welcome" in result.stderr.decode()
    before = run("--log-level", "info", "chat", str(config), stdin="hello\n")
    assert " INFO cli_rules: a turn in state welcome" in before.stderr.decode()
    default = run("chat", str(config), stdin="hello\n")
    assert default.stderr == b""


BLOCK = "import sys\nsys.modules[{name!r}] = None\nfrom chatbotmaker_core.cli import main\n"
BLOCK += "sys.exit(main(sys.argv[1:]))\n"


def test_chat_without_chatbotmaker_dev_names_the_pip_command(tmp_path):
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/bot.db")
    result = run("chat", str(config), python=BLOCK.format(name="chatbotmaker_dev"))
    assert result.returncode == 1
    assert result.stderr.decode().splitlines()[-1] == (
        "error: chat prints replies through the 'dev' messenger, which is not installed: "
        "pip install chatbotmaker-dev"
    )


def test_a_postgresql_url_without_psycopg_names_the_extra(tmp_path):
    config = write_config(tmp_path, "postgresql+psycopg://user@127.0.0.1:1/nowhere")
    for command in ("chat", "init-db", "serve"):
        result = run(command, str(config), python=BLOCK.format(name="psycopg"))
        assert result.returncode == 1, result.stderr
        err = result.stderr.decode()
        assert "Traceback" not in err
        assert err.count("error:") == 1
        assert err.splitlines()[-1].startswith("error: [database] the PostgreSQL driver")
        assert "pip install 'chatbotmaker-core[postgres]'" in err.splitlines()[-1]


@pytest.mark.postgres
def test_queued_mode_without_procrastinate_names_the_extra(postgres_server, tmp_path):
    url = postgres_server.create_database("cli_no_procrastinate")
    try:
        config = write_config(tmp_path, url, extra='[bot]\nmode = "queued"')
        for command in ("jobs", "worker"):
            result = run(command, str(config), python=BLOCK.format(name="procrastinate"))
            assert result.returncode == 1
            last = result.stderr.decode().splitlines()[-1]
            assert last.startswith("error: ") and "procrastinate" in last
            assert last.endswith(": pip install 'chatbotmaker-core[queue]'")
    finally:
        postgres_server.drop_database("cli_no_procrastinate")


def test_chat_on_messengers_tables_talks_as_the_chosen_channels_user(tmp_path):
    db = tmp_path / "bot.db"
    config = tmp_path / "chatbotmaker.toml"
    config.write_text(
        '[messengers.facebook]\npage_access_token = "token"\napp_secret = "s"\n'
        'verify_token = "v"\n'
        '[messengers.whatsapp]\naccess_token = "t"\nphone_number_id = "1"\napp_secret = "s"\n'
        'verify_token = "v"\n'
        f'[database]\nname = "sqlalchemy"\nurl = "sqlite:///{db}"\n'
        '[rules]\nname = "python"\nsource = "cli_rules:RULES"\n'
    )
    assert run("chat", str(config), "--user", "42", stdin="hi\n").returncode == 0
    done = run("chat", str(config), "--user", "42", "--channel", "whatsapp", stdin="hi\n")
    assert done.returncode == 0, done.stderr
    assert replies(done) == ["42 > got 'hi' (text)"]
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        users = conn.execute(text("SELECT channel, fb_id FROM users ORDER BY id")).all()
    engine.dispose()
    assert [tuple(u) for u in users] == [("facebook", "42"), ("whatsapp", "42")]
    wrong = run("chat", str(config), "--channel", "telegram", stdin="hi\n")
    assert wrong.returncode != 0 and b"channel 'telegram' has no messenger" in wrong.stderr
