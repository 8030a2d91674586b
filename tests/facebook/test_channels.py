"""Several messengers in one bot (issue 15 item 3) and Meta's 24-hour window (item 5)."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import text

from chatbotmaker_core import Bot, ConfigError, Database, Dispatcher, Message
from chatbotmaker_core.channels import WindowClosedError
from chatbotmaker_core.web import create_app
from chatbotmaker_facebook import FacebookMessenger, WhatsAppMessenger
from tests.facebook.conftest import FAST_RETRIES, Base
from tests.support.facebook import APP_SECRET, TOKEN, VERIFY_TOKEN, event, post, sample

WA_TOKEN = "EAAwhatsappSYSTEMuserTOKEN0123"
PHONE_ID = "106540352242922"
SAME_ID = "16505551234"  # a WhatsApp number, and here a Messenger PSID too


def count(user, user_input):
    """Counts each user's messages in an argument and answers ``channel:n:input``."""
    n = user.get_argument("n", 0) + 1
    user.store_argument("n", n)
    user.send_message(f"{user.channel}:{n}:{user_input}")
    if n == 2:
        user.change_state("second")


RULES = {"actions": {"welcome": {"func": count}, "second": {"func": count}}}


def messengers(graph):
    common = {"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN, "graph_url": graph.url}
    return {
        "facebook": FacebookMessenger(TOKEN, timeout=2.0, **common),
        "whatsapp": WhatsAppMessenger(WA_TOKEN, phone_number_id=PHONE_ID, timeout=2.0, **common),
    }


@pytest.fixture
def two(graph, db_url):
    database = Database(db_url, base=Base)
    bot = Bot(dict(FAST_RETRIES), None, Dispatcher(RULES), database, messengers=messengers(graph))
    yield bot
    database.dispose()


def whatsapp_text(body, wamid):
    payload = copy.deepcopy(sample("whatsapp_text"))
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["text"]["body"], message["id"] = body, wamid
    return payload


def page_text(body, mid):
    return {
        "object": "page",
        "entry": [{"id": "PAGE", "time": 1, "messaging": [event(SAME_ID, mid, body)]}],
    }


def test_the_same_id_on_two_messengers_is_two_users_answered_on_its_own_channel(two, graph):
    client = create_app(two).test_client()
    assert post(client, page_text("a", "m_1"), path="/webhook/facebook").status_code == 200
    assert post(client, whatsapp_text("b", "wamid.1"), path="/webhook/whatsapp").status_code == 200
    assert post(client, page_text("c", "m_2"), path="/webhook/facebook").status_code == 200
    sent = [
        (r.path, r.body.get("recipient", {}).get("id") or r.body.get("to"), r.text or r.body)
        for r in graph.requests
        if r.method == "POST" and ("message" in r.body or r.body.get("type") == "text")
    ]
    assert [(path, to) for path, to, _ in sent] == [
        ("/v25.0/me/messages", SAME_ID),
        (f"/v25.0/{PHONE_ID}/messages", SAME_ID),
        ("/v25.0/me/messages", SAME_ID),
    ]
    assert graph.texts()[-1] == "facebook:2:c"
    assert [b.body["text"]["body"] for b in graph.whatsapp() if b.body.get("type") == "text"] == [
        "whatsapp:1:b"
    ]
    facebook = two.database.get_user(SAME_ID, channel="facebook")
    whatsapp = two.database.get_user(SAME_ID, channel="whatsapp")
    assert (facebook.channel, facebook.state) == ("facebook", "second")
    assert (whatsapp.channel, whatsapp.state) == ("whatsapp", "welcome")
    assert two.database.get_arguments(SAME_ID, channel="facebook") == {"n": 2}
    assert two.database.get_arguments(SAME_ID, channel="whatsapp") == {"n": 1}


def test_a_message_without_channel_goes_to_the_default_and_an_unknown_one_is_refused(two, graph):
    two.handle(Message(user_id="9", text="x"))
    assert two.database.get_user("9").channel == "facebook" and graph.texts() == ["facebook:1:x"]
    with pytest.raises(LookupError, match=r"channel 'telegram' has no messenger.*'facebook'"):
        two.handle(Message(user_id="9", text="x", channel="telegram"))


def test_config_serves_each_messengers_table_at_its_own_path(graph, tmp_path):
    config = {
        "messengers": {
            "fb": {
                "name": "facebook",
                "page_access_token": TOKEN,
                "graph_url": graph.url,
                "app_secret": APP_SECRET,
                "verify_token": VERIFY_TOKEN,
            },
            "whatsapp": {
                "access_token": WA_TOKEN,
                "phone_number_id": PHONE_ID,
                "graph_url": graph.url,
                "app_secret": APP_SECRET,
                "verify_token": VERIFY_TOKEN,
            },
        },
        "database": {"name": "sqlalchemy", "url": f"sqlite:///{tmp_path}/bot.db"},
        "rules": {"name": "python", "source": "tests.facebook.test_channels:RULES"},
    }
    bot = Bot.from_config(config)
    try:
        assert list(bot.messengers) == ["fb", "whatsapp"] and bot.messenger is bot.messengers["fb"]
        client = create_app(bot).test_client()
        assert post(client, page_text("hi", "m_9"), path="/webhook/fb").status_code == 200
        assert post(client, page_text("hi", "m_8")).status_code == 404  # no /webhook
        assert graph.texts() == ["fb:1:hi"]
    finally:
        bot.database.dispose()
    mixed = {**config, "messenger": {"name": "facebook", "page_access_token": TOKEN}}
    with pytest.raises(
        ConfigError, match=r"\[messenger\] and \[messengers.<name>\] tables are both"
    ):
        Bot.from_config(mixed)


# -- the 24-hour window ------------------------------------------------------------------------


def test_replies_in_a_turn_are_responses(two, graph):
    two.handle(Message(user_id="7", text="hi", message_id="m_7"))
    (reply,) = graph.messages()
    assert reply.body["messaging_type"] == "RESPONSE" and "tag" not in reply.body


def test_a_send_outside_a_turn_needs_the_window_or_a_tag(two, graph):
    two.handle(Message(user_id="7", text="hi", message_id="m_7"))
    two.send_message("7", "still there?")  # within 24 hours: sent
    assert graph.texts()[-1] == "still there?"
    with two.database.engine.begin() as conn:
        conn.execute(text("UPDATE users SET last_message_at = '2020-01-01 00:00:00'"))
    graph.reset()
    with pytest.raises(WindowClosedError, match=r"user '7' on channel 'facebook': the 24-hour"):
        two.send_message("7", "reminder")
    assert graph.requests == []
    two.send_message("7", "your order shipped", tag="POST_PURCHASE_UPDATE")
    (sent,) = graph.messages()
    assert sent.body["messaging_type"] == "MESSAGE_TAG"
    assert sent.body["tag"] == "POST_PURCHASE_UPDATE" and sent.text == "your order shipped"
    with pytest.raises(WindowClosedError, match=r"channel 'whatsapp' \(WhatsAppMessenger\) takes"):
        two.send_message("7", "x", channel="whatsapp", tag="POST_PURCHASE_UPDATE")
    with pytest.raises(LookupError, match=r"no user '7' on channel 'whatsapp'"):
        two.send_message("7", "x", channel="whatsapp")
