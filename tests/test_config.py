"""Bot.from_config: TOML, ${VAR} expansion, components by plugin name, clear errors."""

from pathlib import Path

import pytest

from chatbotmaker_core import Bot, ConfigError, UnknownPluginError
from chatbotmaker_core.config import load_config
from chatbotmaker_core.config_check import check_config
from chatbotmaker_dev import DevMessenger

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def rules_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES))


def write(tmp_path, text):
    path = tmp_path / "chatbotmaker.toml"
    path.write_text(text)
    return path


CONFIG = """
[bot]
initial_state = "echo"

[messenger]
name = "dev"

[database]
name = "sqlalchemy"
url = "sqlite:///${BOT_DB}"

[rules]
name = "python"
source = "echo_rules:RULES"
"""


def test_toml_config_selects_components_by_name(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BOT_DB", str(tmp_path / "bot.db"))
    bot = Bot.from_config(write(tmp_path, CONFIG))
    assert isinstance(bot.messenger, DevMessenger)
    assert bot.database.url == f"sqlite:///{tmp_path / 'bot.db'}"
    bot.user_handle("42", "help")
    bot.user_handle("42", "hi")
    assert capsys.readouterr().out.splitlines() == [
        "42 > echo: help",
        "42 > help: say anything",
    ]
    assert bot.database.get_user("42").state == "echo"


def test_mapping_config_and_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("BOT_DB", raising=False)
    bot = Bot.from_config(
        {
            "messenger": {"name": "dev"},
            "database": {"name": "sqlalchemy", "url": f"sqlite:///${{BOT_DB:-{tmp_path}/d.db}}"},
            "rules": {"name": "python", "source": "echo_rules:RULES"},
            "bot": {"initial_state": "echo"},
        }
    )
    assert bot.database.url.endswith("/d.db")


def test_missing_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("BOT_DB", raising=False)
    with pytest.raises(ConfigError, match=r"database\.url: environment variable BOT_DB is not set"):
        Bot.from_config(write(tmp_path, CONFIG))


def test_missing_table_and_key_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_DB", str(tmp_path / "bot.db"))
    with pytest.raises(ConfigError, match=r"missing table \[rules\]"):
        Bot.from_config(write(tmp_path, CONFIG.split("[rules]")[0]))
    with pytest.raises(ConfigError, match=r"\[messenger\] is missing the key 'name'"):
        Bot.from_config(write(tmp_path, CONFIG.replace('name = "dev"', 'nom = "dev"')))
    with pytest.raises(ConfigError, match=r"\[rules\] unknown option 'src' for 'python'"):
        Bot.from_config(write(tmp_path, CONFIG.replace("source =", "src =")))
    text = CONFIG.replace('source = "echo_rules:RULES"', "")
    with pytest.raises(ConfigError, match=r"\[rules\] python: missing the key 'source'"):
        Bot.from_config(write(tmp_path, text))


def test_unknown_plugin_lists_available(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_DB", str(tmp_path / "bot.db"))
    with pytest.raises(UnknownPluginError) as error:
        Bot.from_config(write(tmp_path, CONFIG.replace('name = "dev"', 'name = "facebok"')))
    assert str(error.value).startswith("unknown messenger 'facebok'; available: ")
    assert "dev" in error.value.available


def test_source_that_does_not_import(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_DB", str(tmp_path / "bot.db"))
    with pytest.raises(
        ConfigError, match=r"\[rules\] source: cannot import module 'no_such_rules'"
    ):
        Bot.from_config(write(tmp_path, CONFIG.replace("echo_rules:RULES", "no_such_rules:RULES")))
    with pytest.raises(ConfigError, match=r"module 'echo_rules' has no attribute 'RULEZ'"):
        Bot.from_config(write(tmp_path, CONFIG.replace("echo_rules:RULES", "echo_rules:RULEZ")))


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[bot\n"))
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_check_reports_every_problem(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_DB", str(tmp_path / "bot.db"))
    text = CONFIG.replace('name = "dev"', 'name = "facebok"').replace("RULES", "NOT_RULES")
    problems = check_config(write(tmp_path, text))
    assert any("unknown messenger 'facebok'" in p for p in problems)
    assert any("unknown key 'pref_func' (did you mean 'pre_func'?)" in p for p in problems)
    assert any("missing required key 'func'" in p for p in problems)
    assert check_config(write(tmp_path, CONFIG)) == []


def test_check_reports_bot_table_problems(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_DB", str(tmp_path / "bot.db"))
    text = CONFIG.replace('initial_state = "echo"', 'initial_state = "lobby"\nmode = "fast"')
    problems = check_config(write(tmp_path, text))
    assert any("mode must be one of inline, queued" in p for p in problems)
