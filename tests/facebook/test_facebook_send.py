"""The Send API client against the loopback Graph API: bodies, splitting, retries, secrets."""

from __future__ import annotations

import logging
import socket

import pytest
from sqlalchemy import select

from chatbotmaker_core import Button, ConfigError, DeliveryError, QuickReply, Reply
from chatbotmaker_core.web import create_app
from chatbotmaker_facebook import FacebookMessenger, GraphAPIError
from tests.support.facebook import APP_SECRET, LONG_TEXT, PROOF, TOKEN, batch, event, post, sample


def failures(bot) -> list[dict]:
    table = bot.database.models.DeliveryFailure.__table__
    with bot.database.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(select(table))]


def say(bot, text: str, mid: str = "m.1", user: str = "u1"):
    return post(create_app(bot).test_client(), batch([event(user, mid, text)]))


# -- message bodies --------------------------------------------------------------------------


def test_long_text_is_split_at_word_boundaries_in_order(bot, graph):
    say(bot, "long")

    texts = graph.texts()
    assert len(texts) == 3
    assert all(len(t) <= 2000 for t in texts)
    assert " ".join(texts) == LONG_TEXT
    assert all(not t.startswith(" ") and not t.endswith(" ") for t in texts)


def test_quick_replies(bot, graph):
    say(bot, "menu")

    (message,) = graph.messages()
    assert message.body["message"] == {
        "text": "Pick a colour",
        "quick_replies": [
            {"content_type": "text", "title": "Red", "payload": "Red"},
            {"content_type": "text", "title": "An extremely long c…", "payload": "LONG"},
        ],
    }


def test_at_most_13_quick_replies(bot, graph):
    bot.messenger.send_reply(
        "u1", Reply("pick", quick_replies=tuple(QuickReply(str(i)) for i in range(20)))
    )
    (message,) = graph.messages()
    assert [q["title"] for q in message.body["message"]["quick_replies"]] == [
        str(i) for i in range(13)
    ]


def test_buttons_are_a_button_template(bot, graph):
    say(bot, "buttons")

    (message,) = graph.messages()
    assert message.body["message"] == {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "button",
                "text": "Choose",
                "buttons": [
                    {"type": "postback", "title": "Yes", "payload": "YES"},
                    {"type": "web_url", "url": "https://example.com", "title": "Site"},
                ],
            },
        }
    }


def test_more_than_three_buttons_and_long_text(bot, graph):
    text = "x " * 1000  # 2000 characters: too long for a button template's 640
    buttons = tuple(Button(f"b{i}") for i in range(5))
    bot.messenger.send_reply("u1", Reply(text.strip(), buttons=buttons))

    bodies = [m.body["message"] for m in graph.messages()]
    templates = [b["attachment"]["payload"] for b in bodies if "attachment" in b]
    assert [len(t["buttons"]) for t in templates] == [3, 2]
    assert all(len(t["text"]) <= 640 for t in templates)
    assert all(len(b.get("text", "")) <= 2000 for b in bodies)
    assert templates[0]["buttons"][0] == {"type": "postback", "title": "b0", "payload": "b0"}


def test_empty_reply_is_not_sent(bot, graph):
    assert bot.messenger.send("u1", "  ") is None
    assert graph.requests == []


def test_send_returns_graphs_answer(bot, graph):
    answer = bot.messenger.send("u1", "hi")
    assert answer == {"recipient_id": "u1", "message_id": "m_1"}


# -- retries by error class ------------------------------------------------------------------


def test_5xx_then_success_is_retried(bot, graph):
    graph.fail(500, {"error": {"message": "An unexpected error", "code": 2}}, times=2)
    say(bot, "hello")

    assert graph.texts() == ["text:hello"] * 3
    assert failures(bot) == []


def test_5xx_without_a_json_body_is_retried(bot, graph):
    graph.fail(502, b"<html>bad gateway</html>")
    say(bot, "hello")
    assert graph.texts() == ["text:hello"] * 2
    assert failures(bot) == []


def test_code_100_is_not_retried_and_is_recorded(bot, graph, caplog):
    graph.fail(400, sample("send_api_error_100_no_user"))
    with caplog.at_level(logging.WARNING):
        say(bot, "hello")

    assert graph.texts() == ["text:hello"]
    (failure,) = failures(bot)
    assert failure["user_id"] == "u1"
    assert failure["text"] == "text:hello"
    assert failure["code"] == "100"
    assert "2018001" in failure["error"] and "AbCdEfGh" in failure["error"]
    assert "subcode 2018001" in caplog.text and "fbtrace_id AbCdEfGh" in caplog.text


def test_a_permanent_failure_stops_the_turns_later_replies(bot, graph):
    graph.fail(400, {"error": {"message": "(#10) outside window", "code": 10}})
    say(bot, "two")
    assert graph.texts() == ["first"]
    assert [f["text"] for f in failures(bot)] == ["first", "second"]


def test_rate_limit_613_honours_retry_after(bot, graph):
    graph.fail(400, sample("send_api_error_613_rate"), headers={"Retry-After": "0.02"})
    with pytest.raises(GraphAPIError) as caught:
        bot.messenger.send("u1", "hi")
    assert caught.value.transient and caught.value.code == 613
    assert caught.value.retry_after == pytest.approx(0.02)

    graph.fail(400, sample("send_api_error_613_rate"), headers={"Retry-After": "0"})
    say(bot, "hello")
    assert graph.texts() == ["hi", "text:hello", "text:hello"]
    assert failures(bot) == []


def test_invalid_token_190_is_logged_at_error_and_not_retried(bot, graph, caplog):
    graph.fail(400, sample("send_api_error_190"))
    with caplog.at_level(logging.WARNING):
        say(bot, "hello")

    assert graph.texts() == ["text:hello"]
    assert [f["code"] for f in failures(bot)] == ["190"]
    alerts = [r for r in caplog.records if "code 190" in r.getMessage()]
    assert alerts and all(r.levelno >= logging.ERROR for r in alerts)
    assert "BLBz/WZt8dN" in caplog.text


@pytest.mark.parametrize(
    ("status", "code", "transient"),
    [
        (500, 1, True),
        (500, 2, True),
        (400, 4, True),
        (400, 1200, True),
        (503, None, True),
        (429, None, True),
        (400, 100, False),
        (400, 10, False),
        (400, 200, False),
        (400, 551, False),
        (500, 100, False),  # the code decides, not the status
        (403, None, False),
        (404, 12345, False),
    ],
)
def test_classification(bot, graph, status, code, transient):
    body = {"error": {"message": "x", "code": code}} if code else {"nope": 1}
    graph.fail(status, body)
    with pytest.raises(GraphAPIError) as caught:
        bot.messenger.send("u1", "hi")
    assert caught.value.transient is transient
    assert isinstance(caught.value, DeliveryError)


def test_a_failed_chunk_of_a_long_reply_is_resumed_not_repeated(bot, graph):
    # chunk 1 ok, chunk 2 fails twice, then the rest
    graph.fail(200, {})
    graph.fail(503, {"error": {"message": "down", "code": 2}}, times=2)
    say(bot, "long")

    texts = graph.texts()
    assert len(texts) == 5
    delivered = [texts[0], texts[3], texts[4]]
    assert " ".join(delivered) == LONG_TEXT
    assert texts[1] == texts[2] == texts[3]
    assert failures(bot) == []


def test_connection_error_is_transient_and_scrubbed(make_bot, caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    bot = make_bot(graph_url=f"http://127.0.0.1:{port}", bot_config={"send_attempts": 2})
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(GraphAPIError) as caught:
            bot.messenger.send("u1", "hi")
        say(bot, "hello")

    error = caught.value
    assert error.transient and error.code == "connection_error"
    assert error.__context__ is None and error.__cause__ is None
    for text in (str(error), repr(error), caplog.text, repr(failures(bot))):
        assert TOKEN not in text and PROOF not in text and APP_SECRET not in text
    assert "access_token=***" in str(error)
    assert [f["code"] for f in failures(bot)] == ["connection_error"]


def test_read_timeout_is_transient(make_bot, graph):
    bot = make_bot(timeout=0.2)
    graph.fail(200, {}, delay=0.5)
    with pytest.raises(GraphAPIError) as caught:
        bot.messenger.send("u1", "hi")
    assert caught.value.transient and caught.value.code == "timeout"


def test_token_never_appears_in_logs(make_bot, graph, caplog):
    bot = make_bot(bot_config={"send_attempts": 2})
    graph.fail(500, {"error": {"message": "oops", "code": 1}})
    graph.fail(400, sample("send_api_error_100_no_user"))
    graph.fail(400, sample("send_api_error_190"))
    graph.fail(400, {"error": {"message": f"echoing {TOKEN}", "code": 100}})
    with caplog.at_level(logging.DEBUG):
        for i, text in enumerate(["a", "b", "c", "d", "long"]):
            say(bot, text, mid=f"m.{i}")
        bot.messenger.mark_seen("u1")

    assert "urllib3" in caplog.text or graph.requests  # DEBUG records of requests were made
    for secret in (TOKEN, APP_SECRET, PROOF):
        assert secret not in caplog.text
        assert secret not in repr(bot.messenger)
        assert secret not in repr(bot.messenger.api)
        assert secret not in repr(vars(bot.messenger))


def test_sender_action_failures_are_not_fatal(bot, graph):
    graph.fail(500, {"error": {"message": "x", "code": 2}}, on="action")
    say(bot, "hello")
    assert graph.texts() == ["text:hello"]
    assert failures(bot) == []


def test_mark_seen_and_mark_writing(bot, graph):
    bot.messenger.mark_seen("u1")
    bot.messenger.mark_writing("u1", True)
    bot.messenger.mark_writing("u1", False)
    assert graph.actions() == ["mark_seen", "typing_on", "typing_off"]
    assert all(set(r.body) == {"recipient", "sender_action"} for r in graph.requests)


# -- construction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"page_access_token": ""},
        {"page_access_token": None},
        {"timeout": 0},
        {"timeout": "10"},
        {"graph_url": "graph.facebook.com"},
        {"insecure_allow_unsigned": "yes"},
        {"turn_action": "typing"},
        {"app_secret": 123},
    ],
)
def test_bad_options_fail_at_construction(options):
    settings = {"page_access_token": TOKEN, **options}
    with pytest.raises(ConfigError) as caught:
        FacebookMessenger(settings.pop("page_access_token"), **settings)
    assert TOKEN not in str(caught.value)


def test_api_version_and_graph_url_build_the_endpoint():
    messenger = FacebookMessenger(TOKEN, graph_url="https://example.test/", api_version="v19.0")
    assert messenger.api.url == "https://example.test/v19.0/me/messages"


def test_a_proxy_from_the_environment_is_used(make_bot, graph, monkeypatch):
    """HTTP_PROXY/NO_PROXY mean what they mean to requests (read when the messenger is made):
    the Send API request goes to the proxy, here the loopback server playing one, which gets
    the absolute URL of a host that does not exist."""
    monkeypatch.setenv("HTTP_PROXY", graph.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    bot = make_bot(graph_url="http://graph.example.invalid")

    bot.messenger.send("u1", "via the proxy")

    assert graph.texts() == ["via the proxy"]
    assert graph.requests[-1].path == "/v25.0/me/messages"
    assert graph.requests[-1].query["access_token"] == TOKEN


def test_no_proxy_bypasses_the_proxy(make_bot, graph, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens on port 9
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    bot = make_bot()

    bot.messenger.send("u1", "direct")

    assert graph.texts() == ["direct"]


def test_a_pool_manager_of_your_own_is_used(make_bot, graph):
    """``http=`` takes your own urllib3 pool manager, here a ProxyManager whose proxy is the
    loopback server: the Send API's host does not exist, so only that manager can reach it."""
    import urllib3

    bot = make_bot(graph_url="http://graph.example.invalid", http=urllib3.ProxyManager(graph.url))

    bot.messenger.send("u1", "through my proxy")

    assert graph.texts() == ["through my proxy"]


def test_a_permanent_failure_is_logged_once_where_delivery_gives_up(bot, graph, caplog):
    graph.fail(400, sample("send_api_error_100_no_user"))
    with caplog.at_level(logging.DEBUG):
        say(bot, "hello")
    lines = [r for r in caplog.records if "fbtrace_id AbCdEfGh" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].levelno == logging.ERROR
    assert lines[0].getMessage().startswith("could not deliver 1 reply to user u1: ")
