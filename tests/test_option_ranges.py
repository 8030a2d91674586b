"""Numeric options out of range are refused by `check` and at start-up, naming the table, key,
value and the allowed range: `send_attempts = 0` used to drop every reply silently."""

from pathlib import Path

import pytest

from chatbotmaker_core import Bot, ConfigError, Database, Dispatcher
from chatbotmaker_core.cli import main
from chatbotmaker_core.config_check import check
from chatbotmaker_dev import DevMessenger

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def rules_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES))


def config(bot=None, worker=None, messenger=None):
    """A config mapping: the dev messenger, an in-memory SQLite database, the echo rules."""
    return {
        "bot": {"initial_state": "echo", **(bot or {})},
        "messenger": messenger or {"name": "dev"},
        "database": {"name": "sqlalchemy", "url": "sqlite://"},
        "rules": {"name": "python", "source": "echo_rules:RULES"},
        **({"worker": worker} if worker else {}),
    }


BOT_CASES = [
    ("send_attempts", 0, "[bot] send_attempts = 0 is out of range: it must be >= 1"),
    (
        "send_backoff",
        -0.5,
        "[bot] send_backoff = -0.5 is out of range: it must be a finite number >= 0",
    ),
    ("send_max_backoff", -1, "[bot] send_max_backoff = -1 is out of range: it must be >= 0"),
    ("send_deadline", 0, "[bot] send_deadline = 0 is out of range: it must be > 0"),
    (
        "send_deadline",
        float("nan"),
        "[bot] send_deadline = nan is out of range: it must be a finite",
    ),
    ("job_attempts", 0, "[bot] job_attempts = 0 is out of range: it must be >= 1"),
    ("job_retry_wait", -2, "[bot] job_retry_wait = -2 is out of range: it must be >= 0"),
]


@pytest.mark.parametrize("key, value, expected", BOT_CASES)
def test_bot_option_out_of_range(key, value, expected):
    assert expected in "\n".join(check(config(bot={key: value})).errors)
    with pytest.raises(ConfigError) as error:
        Bot.from_config(config(bot={key: value}))
    assert expected in str(error.value)
    with pytest.raises(ConfigError, match=r"out of range"):
        Bot(
            {key: value, "initial_state": "echo"},
            DevMessenger(),
            Dispatcher({"actions": {"echo": {"func": lambda user, text: None}}}),
            Database("sqlite://"),
        )


def test_send_attempts_zero_through_the_cli(tmp_path, capsys):
    path = tmp_path / "chatbotmaker.toml"
    path.write_text(
        '[bot]\ninitial_state = "echo"\nsend_attempts = 0\n[messenger]\nname = "dev"\n'
        '[database]\nname = "sqlalchemy"\nurl = "sqlite://"\n'
        '[rules]\nname = "python"\nsource = "echo_rules:RULES"\n'
    )
    for command in ("check", "chat"):
        assert main([command, str(path)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: [bot] send_attempts = 0 is out of range: it must be >= 1")


def test_bot_options_in_range_are_accepted():
    bot = Bot.from_config(
        config(
            bot={
                "send_attempts": 1,
                "send_backoff": 0,
                "send_max_backoff": 0.0,
                "send_deadline": 0.5,
                "job_attempts": 1,
                "job_retry_wait": 0,
            }
        )
    )
    assert bot.retry_policy.attempts == 1


WORKER_CASES = [
    ("concurrency", 0, "[worker] concurrency = 0 is out of range: it must be >= 1"),
    ("concurrency", -3, "[worker] concurrency = -3 is out of range: it must be >= 1"),
    ("heartbeat_interval", 0, "[worker] heartbeat_interval = 0 is out of range: it must be > 0"),
    ("stalled_after", -1.0, "[worker] stalled_after = -1.0 is out of range"),
    ("check_interval", 0, "[worker] check_interval = 0 is out of range: it must be > 0"),
    ("poll_interval", -0.1, "[worker] poll_interval = -0.1 is out of range"),
    ("stalled_after", 2.0, "[worker] stalled_after = 2.0 must be more than heartbeat_interval"),
    ("concurrency", 2.5, "[worker] concurrency must be an integer, got 2.5"),
    ("wait", "no", "[worker] wait must be true or false, got 'no'"),
]


@pytest.mark.parametrize("key, value, expected", WORKER_CASES)
def test_worker_option_out_of_range(key, value, expected):
    from chatbotmaker_core.queued.worker import WorkerSettings

    (error_line,) = check(config(worker={key: value})).errors
    assert error_line.startswith(expected)
    with pytest.raises(ConfigError) as error:
        WorkerSettings(**{key: value})
    assert error.value.problems == [error_line]


@pytest.mark.parametrize("timeout", [0, -1.5, float("inf")])
def test_facebook_messenger_timeout_out_of_range(timeout):
    messenger = {
        "name": "facebook",
        "page_access_token": "t",
        "app_secret": "s",
        "verify_token": "v",
        "timeout": timeout,
    }
    assert check(config(messenger=messenger)).errors == [
        f"[messenger] facebook: timeout = {timeout!r} is out of range: it must be a finite "
        "number of seconds > 0"
    ]
    with pytest.raises(ConfigError, match=r"\[messenger\] facebook: timeout = "):
        Bot.from_config(config(messenger=messenger))
