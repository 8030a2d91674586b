"""The acme plugin's own tests: in-process, without installing the distribution.

``registered_plugin`` adds the plugin module to chatbotmaker's plugin manager for the block,
as its entry point would once installed. Run with ``pytest`` from this folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import chatbotmaker_acme.plugin
import pytest
from chatbotmaker_acme import AcmeMessenger

from chatbotmaker_core import Bot, ConfigError
from chatbotmaker_core.plugins import PluginManager, reset_plugin_manager
from chatbotmaker_core.testing import registered_plugin
from chatbotmaker_core.web import create_app

RULES_MODULE = """
from chatbotmaker_core import Dispatcher

def func_welcome(user, user_input):
    user.send_message(f"you said {user_input}")

RULES = {"actions": {"welcome": Dispatcher.DEFAULT}}
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A bot config selecting ``acme``, with a rules module in a temporary folder."""
    (tmp_path / "acme_test_rules.py").write_text(RULES_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    # A fresh process-wide plugin manager, so nothing registered here outlives the test.
    reset_plugin_manager()
    yield {
        "messenger": {"name": "acme", "path": str(tmp_path / "outbox.jsonl"), "prefix": "> "},
        "database": {"name": "sqlalchemy", "url": f"sqlite:///{tmp_path / 'bot.db'}"},
        "rules": {"name": "python", "source": "acme_test_rules:RULES"},
    }
    reset_plugin_manager()


def outbox(config: dict) -> list[dict]:
    return [json.loads(line) for line in Path(config["messenger"]["path"]).read_text().splitlines()]


def test_plugin_registers_acme_messenger() -> None:
    manager = PluginManager()
    with registered_plugin(chatbotmaker_acme.plugin, "acme", manager=manager) as info:
        messenger = manager.factory("messenger", "acme")(prefix="> ")
    assert isinstance(messenger, AcmeMessenger)
    assert info.registers == {"messenger": ["acme"]}


def test_bot_from_config_writes_replies_to_the_outbox(config: dict) -> None:
    with registered_plugin(chatbotmaker_acme.plugin, "acme", distribution="chatbotmaker-acme"):
        bot = Bot.from_config(config)
    bot.user_handle("u1", "hello")
    assert outbox(config) == [{"to": "u1", "text": "> you said hello"}]


def test_bad_option_is_a_config_error(config: dict) -> None:
    config["messenger"]["prefix"] = 3
    with registered_plugin(chatbotmaker_acme.plugin, "acme"):
        with pytest.raises(ConfigError, match=r"\[messenger\] acme: prefix must be a string"):
            Bot.from_config(config)


def test_webhook_hands_messages_to_the_bot(config: dict) -> None:
    config["messenger"]["webhook_token"] = "s3cret"
    with registered_plugin(chatbotmaker_acme.plugin, "acme"):
        bot = Bot.from_config(config)
    client = create_app(bot).test_client()

    token = {"X-Acme-Token": "s3cret"}
    event = {"from": "u2", "text": "hi", "id": "m-1"}
    assert client.post("/webhook", json=event).status_code == 403
    assert client.post("/webhook", json={"text": "hi"}, headers=token).status_code == 400
    for _ in range(2):  # a redelivered message is handled once
        response = client.post("/webhook", json=event, headers=token)
        assert response.status_code == 200
    assert outbox(config) == [{"to": "u2", "text": "> you said hi"}]
