"""A config that cannot work is one line on stderr (exit 1) from `check` and `chat`, and a
ConfigError from `Bot.from_config`: never a traceback."""

import socket
import sys
from pathlib import Path

import pytest

from chatbotmaker_core import Bot, ConfigError, Database
from chatbotmaker_core.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def rules_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES))


def config_text(url="sqlite:///${BOT_DB}", source="hardening_rules:RULES", extra=""):
    return f"""{extra}
[bot]
initial_state = "echo"

[messenger]
name = "dev"

[database]
name = "sqlalchemy"
url = "{url}"

[rules]
name = "python"
source = "{source}"
"""


@pytest.fixture
def config(tmp_path, monkeypatch):
    """Write a config file; BOT_DB points at a SQLite file in the test's folder."""
    monkeypatch.setenv("BOT_DB", str(tmp_path / "bot.db"))

    def write(text: str | bytes) -> Path:
        path = tmp_path / "chatbotmaker.toml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path

    return write


def one_line_error(capsys, *args) -> str:
    """Run the command; assert exit 1 and one `error:` line, no traceback; return it."""
    code = main([*args])
    captured = capsys.readouterr()
    assert code == 1, captured
    assert "Traceback" not in captured.err + captured.out
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, captured.err
    extra = [
        line for line in captured.err.splitlines() if not line.startswith(("error: ", "note: "))
    ]
    assert extra in ([], [f"{args[1]}: 1 problem"]), captured.err
    return errors[0]


def fails_everywhere(capsys, path, expected: str) -> None:
    """The same one-line error from check, chat and Bot.from_config."""
    for command in ("check", "chat"):
        assert expected in one_line_error(capsys, command, str(path)), command
    with pytest.raises(ConfigError) as error:
        Bot.from_config(path)
    assert expected in str(error.value)


def test_config_path_is_a_directory(capsys, tmp_path):
    fails_everywhere(capsys, tmp_path, f"config file {str(tmp_path)!r} is a directory")


def test_config_not_utf8(capsys, config):
    path = config(config_text().replace('"echo"', '"\xe9cho"', 1).encode("latin-1"))
    fails_everywhere(capsys, path, "is not UTF-8 (byte 24: invalid continuation byte)")
    fails_everywhere(capsys, path, "save it as UTF-8")


@pytest.mark.parametrize(
    "table, value",
    [("bot", "3"), ("messenger", '"x"'), ("rules", "[]"), ("database", "true"), ("worker", "1")],
)
def test_top_level_key_of_the_wrong_type(capsys, config, table, value):
    text = config_text().replace(f"[{table}]\n", f"[{table}_was]\n")
    path = config(f"{table} = {value}\n{text}".replace(f"[{table}_was]", "[ignored]"))
    fails_everywhere(capsys, path, f"[{table}] must be a table")
    fails_everywhere(capsys, path, f"got {table} = ")


@pytest.mark.parametrize(
    "attribute, shown", [("A_LIST", "a list"), ("A_STRING", "a str"), ("NOTHING", "None")]
)
def test_rules_attribute_is_not_a_mapping(capsys, config, attribute, shown):
    path = config(config_text(source=f"hardening_rules:{attribute}"))
    fails_everywhere(
        capsys,
        path,
        f"[rules] source: 'hardening_rules:{attribute}' is {shown.split()[-1]}, "
        "not a rules mapping",
    )


@pytest.mark.parametrize("base", ["hardening_rules:NOT_A_BASE", "hardening_rules:NotABase"])
def test_database_base_is_not_a_declarative_base(capsys, config, base):
    path = config(config_text().replace("[rules]", f'base = "{base}"\n\n[rules]'))
    fails_everywhere(capsys, path, "[database] base must be a SQLAlchemy declarative base")


def test_database_class_refuses_a_base_that_is_not_declarative(sqlite_url):
    with pytest.raises(ConfigError, match=r"base must be a SQLAlchemy declarative base"):
        Database(sqlite_url, base=object())


@pytest.mark.parametrize(
    "module, raised",
    [
        ("exiting_rules", "SystemExit: 3"),
        ("interrupted_rules", "KeyboardInterrupt"),
        ("failing_rules", "Stop: cannot start"),
    ],
)
def test_rules_module_that_exits_or_is_interrupted_at_import(capsys, config, module, raised):
    path = config(config_text(source=f"{module}:RULES"))
    fails_everywhere(capsys, path, f"importing module {module!r} raised {raised}")
    assert module not in sys.modules


def test_missing_sqlite_folder(capsys, config, tmp_path):
    path = config(config_text(url=f"sqlite:///{tmp_path}/no/such/dir/bot.db"))
    fails_everywhere(
        capsys,
        path,
        f"the folder of the SQLite file '{tmp_path}/no/such/dir/bot.db' does not exist",
    )
    assert not (tmp_path / "no").exists()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_postgresql_refusing_connections(capsys, config):
    port = closed_port()
    path = config(config_text(url=f"postgresql+psycopg://bot:s3cret@127.0.0.1:{port}/bot"))
    expected = f"cannot use the database postgresql+psycopg://bot:***@127.0.0.1:{port}/bot"
    fails_everywhere(capsys, path, expected)
    fails_everywhere(capsys, path, "Connection refused; is the server running")
    main(["check", str(path)])
    assert "s3cret" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "url, expected",
    [
        (
            "postgresql+psycopg2://bot@127.0.0.1/bot",
            "the PostgreSQL driver for postgresql+psycopg2:// is not installed "
            "(No module named 'psycopg2'); pip install 'chatbotmaker-core[postgres]' (psycopg 3) "
            "and write the URL as postgresql+psycopg://",
        ),
        ("mysql://bot@127.0.0.1/bot", "the mysql driver for mysql:// is not installed"),
    ],
)
def test_dialect_without_its_driver(capsys, config, url, expected):
    for driver in ("psycopg2", "MySQLdb"):  # not dependencies: missing here
        with pytest.raises(ImportError):
            __import__(driver)
    fails_everywhere(capsys, config(config_text(url=url)), expected)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("not a url", "[database] url 'not a url' is not a database URL; write it like sqlite:///"),
        (
            "postgresql://bot:s3cret@host:port/db",
            "[database] url 'postgresql://bot:***@host:port/db' is not a database URL",
        ),
        ("nosuchdb://x", "unknown database kind 'nosuchdb'"),
    ],
)
def test_invalid_database_url(capsys, config, url, expected):
    fails_everywhere(capsys, config(config_text(url=url)), expected)


def test_non_string_rules_source_and_plugin_name(capsys, config):
    fails_everywhere(
        capsys,
        config(config_text().replace('source = "hardening_rules:RULES"', "source = 3")),
        "[rules] source must be a string like 'package.module:attribute', got 3",
    )
    fails_everywhere(
        capsys,
        config(config_text().replace('name = "dev"', "name = 7")),
        "[messenger] name must be a string naming a plugin",
    )


def test_non_string_database_url(capsys, config):
    fails_everywhere(
        capsys,
        config(config_text().replace('url = "sqlite:///${BOT_DB}"', "url = 5")),
        "[database] url is missing or not a string (got 5)",
    )
