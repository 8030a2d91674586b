"""The webhook through ``create_app(bot)`` with Meta's sample payloads, at a loopback Graph API."""

from __future__ import annotations

import logging

import pytest

from chatbotmaker_core.web import MAX_BODY_BYTES, create_app
from tests.support.facebook import (
    APP_SECRET,
    PROOF,
    PSID,
    TOKEN,
    VERIFY_TOKEN,
    batch,
    event,
    post,
    sample,
    sample_bytes,
    sign,
)

# -- events that get an answer -------------------------------------------------------------


def test_text_message_is_answered_through_the_send_api(client, graph, bot):
    response = post(client, sample_bytes("text"))

    assert response.status_code == 200
    assert graph.replies() == [(PSID, "text:hello, world!")]
    reply = graph.messages()[0]
    assert reply.path == "/v25.0/me/messages"
    assert reply.query == {"access_token": TOKEN, "appsecret_proof": PROOF}
    assert reply.body == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "text:hello, world!"},
    }
    assert bot.database.get_user(PSID).state == "welcome"


def test_one_sender_action_per_turn_before_the_replies(client, graph):
    post(client, batch([event("u1", "m.1", "two")]))

    kinds = [r.body.get("sender_action") or r.text for r in graph.requests]
    assert kinds == ["typing_on", "first", "second"]


@pytest.mark.parametrize(("turn_action", "expected"), [("mark_seen", ["mark_seen"]), ("none", [])])
def test_turn_action_is_configurable(make_bot, graph, turn_action, expected):
    client = create_app(make_bot(turn_action=turn_action)).test_client()
    post(client, batch([event("u1", "m.1", "two")]))
    assert graph.actions() == expected
    assert graph.texts() == ["first", "second"]


def test_quick_reply_input_is_its_payload(client, graph):
    post(client, sample("quick_reply"))
    assert graph.texts() == ["quick_reply:<DEVELOPER_DEFINED_PAYLOAD>"]


def test_postback_input_is_its_payload(client, graph):
    post(client, sample("postback"))
    assert graph.texts() == ["postback:USER-DEFINED-PAYLOAD"]


def test_attachment_only_message(client, graph):
    post(client, sample("attachment_image"))
    assert graph.texts() == ["attachment: [image]"]


def test_fallback_attachment_keeps_its_text(client, graph):
    post(client, sample("attachment_fallback"))
    assert graph.texts() == [
        "text:This is where I want to go: https://youtu.be/bbo_fZAjIhg [fallback]"
    ]


def test_timestamps_sent_as_strings_are_accepted(client, graph):
    payload = batch([event("u1", "m.1", "hi")])
    payload["entry"][0]["messaging"][0]["timestamp"] = "1458692752478"
    assert post(client, payload).status_code == 200
    assert graph.texts() == ["text:hi"]


# -- events that must never be answered ----------------------------------------------------


@pytest.mark.parametrize(
    "name", ["echo", "delivery", "read", "standby", "referral", "pass_thread_control"]
)
def test_events_that_are_not_answered(client, graph, bot, name):
    response = post(client, sample(name))

    assert response.status_code == 200
    assert graph.requests == []
    assert bot.database.get_user(PSID) is None


def test_unknown_object_is_acknowledged_and_ignored(client, graph):
    payload = sample("text")
    payload["object"] = "instagram"
    assert post(client, payload).status_code == 200
    assert graph.requests == []


# -- batches ---------------------------------------------------------------------------------


def test_every_event_of_every_entry_in_order(client, graph):
    echo = sample("echo")["entry"][0]["messaging"][0]
    delivery = sample("delivery")["entry"][0]["messaging"][0]
    payload = batch(
        [event("alice", "m.a1", "one"), echo, event("bob", "m.b1", "two-b")],
        [delivery, event("alice", "m.a2", "three"), event("bob", "m.b2", "four")],
    )

    assert post(client, payload).status_code == 200
    assert graph.replies() == [
        ("alice", "text:one"),
        ("bob", "text:two-b"),
        ("alice", "text:three"),
        ("bob", "text:four"),
    ]


def test_redelivered_message_is_handled_once(client, graph, bot):
    body = sample_bytes("text")
    assert post(client, body).status_code == 200
    assert post(client, body).status_code == 200

    assert graph.texts() == ["text:hello, world!"]


@pytest.mark.parametrize(("turn_action", "lookups"), [("typing_on", 2), ("none", 0)])
def test_a_redelivery_is_looked_up_before_the_turn_only_for_a_sender_action(
    make_bot, graph, turn_action, lookups
):
    """The lookup spares a redelivery its typing indicator; with no sender action it would
    only cost a round trip (the claim in the turn's transaction decides alone)."""
    from sqlalchemy import event as sa_event

    bot = make_bot(turn_action=turn_action)
    seen = []

    @sa_event.listens_for(bot.database.engine, "before_cursor_execute")
    def record(conn, cursor, statement, *args):
        if statement.lstrip().startswith("SELECT") and "handled_messages" in statement:
            seen.append(statement)

    client = create_app(bot).test_client()
    body = sample_bytes("text")
    assert post(client, body).status_code == 200
    assert post(client, body).status_code == 200
    assert graph.texts() == ["text:hello, world!"]
    assert graph.actions() == (["typing_on"] if turn_action == "typing_on" else [])
    assert len(seen) == lookups


def test_redelivered_batch_only_handles_what_is_new(client, graph):
    post(client, batch([event("u1", "m.1", "a")]))
    post(client, batch([event("u1", "m.1", "a"), event("u1", "m.2", "b")]))
    assert graph.texts() == ["text:a", "text:b"]


# -- signatures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha256=",
        "sha256=" + "0" * 64,
        sign(b"another body"),
        sign(sample_bytes("text"), secret="wrong-secret"),
        sign(sample_bytes("text"), secret=VERIFY_TOKEN),  # the verify token is not the key
        "sha1=" + "0" * 40,
        sign(sample_bytes("text")).replace("sha256=", "md5="),
        "sha256=ü" + "0" * 63,
    ],
)
def test_bad_or_missing_signature_is_refused_with_nothing_done(client, graph, bot, signature):
    response = post(client, sample_bytes("text"), signature=signature)

    assert response.status_code == 403
    assert graph.requests == []
    assert bot.database.get_user(PSID) is None


def test_signature_is_over_the_raw_bytes(client, graph):
    # Meta's bodies hold \uXXXX escapes: re-serialising them would change the digest.
    body = (
        b'{"object":"page","entry":[{"id":"P","time":1,"messaging":[{"sender":{"id":"u"},'
        b'"recipient":{"id":"P"},"timestamp":1,"message":{"mid":"m.e","text":"caf\\u00e9"}}]}]}'
    )
    assert post(client, body).status_code == 200
    assert graph.texts() == ["text:café"]


def test_signature_failures_are_logged_loudly_without_secrets(client, caplog):
    with caplog.at_level(logging.DEBUG):
        post(client, sample_bytes("text"), signature=sign(b"x", secret="nope"))
        post(client, sample_bytes("text"), signature=None)
    levels = {r.levelno for r in caplog.records if "refused (403)" in r.getMessage()}
    assert levels == {logging.ERROR, logging.WARNING}
    assert APP_SECRET not in caplog.text
    assert sign(sample_bytes("text")) not in caplog.text


def test_without_an_app_secret_post_is_refused(make_bot, graph, caplog):
    with caplog.at_level(logging.WARNING):
        client = create_app(make_bot(app_secret=None)).test_client()
        signed = post(client, sample_bytes("text"))
        unsigned = post(client, sample_bytes("text"), signature=None)

    assert signed.status_code == unsigned.status_code == 403
    assert graph.requests == []
    assert "no app_secret" in caplog.text


def test_insecure_allow_unsigned_accepts_unsigned_posts_and_warns(make_bot, graph, caplog):
    with caplog.at_level(logging.WARNING):
        bot = make_bot(app_secret=None, insecure_allow_unsigned=True)
    assert "UNSIGNED" in caplog.text
    client = create_app(bot).test_client()

    assert post(client, sample_bytes("text"), signature=None).status_code == 200
    assert graph.texts() == ["text:hello, world!"]
    assert "appsecret_proof" not in graph.messages()[0].query


def test_insecure_flag_does_not_disable_a_configured_secret(make_bot, graph):
    client = create_app(make_bot(insecure_allow_unsigned=True)).test_client()
    assert post(client, sample_bytes("text"), signature=None).status_code == 403
    assert graph.requests == []


# -- verification (GET) ----------------------------------------------------------------------


def _verify(client, path="/webhook", **params):
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", **params}
    return client.get(path, query_string={k: v for k, v in query.items() if v is not None})


def test_verification_answers_the_challenge(client):
    response = _verify(client, **{"hub.verify_token": VERIFY_TOKEN})
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "1158201444"
    assert response.mimetype == "text/plain"


def test_verification_with_a_trailing_slash(client):
    assert _verify(client, "/webhook/", **{"hub.verify_token": VERIFY_TOKEN}).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"hub.verify_token": "wrong"},
        {"hub.verify_token": None},
        {"hub.verify_token": VERIFY_TOKEN, "hub.mode": "unsubscribe"},
        {"hub.verify_token": VERIFY_TOKEN, "hub.mode": None},
        {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": None},
    ],
)
def test_verification_refused(client, params):
    assert _verify(client, **params).status_code == 403


def test_verification_refused_when_no_verify_token_is_configured(make_bot):
    client = create_app(make_bot(verify_token=None)).test_client()
    assert _verify(client, **{"hub.verify_token": ""}).status_code == 403
    assert _verify(client, **{"hub.verify_token": "None"}).status_code == 403


# -- bad input: never a 5xx ------------------------------------------------------------------


def test_body_over_the_limit_is_413(client, graph):
    body = b'{"object":"page","entry":[]' + b" " * MAX_BODY_BYTES + b"}"
    assert post(client, body).status_code == 413
    assert graph.requests == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"{",
        b"\xff\xfe\x00",
        b"[" * 100_000 + b"]" * 100_000,
        b"1e99999",
        b"9" * 5000,
    ],
)
def test_malformed_json_is_400(client, graph, body):
    assert post(client, body).status_code == 400
    assert graph.requests == []


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"entry": []},
        {"object": "page"},
        {"object": "page", "entry": {}},
        {"object": "page", "entry": [1]},
        {"object": "page", "entry": [{"messaging": {}}]},
        {"object": "page", "entry": [{"messaging": None}]},
    ],
)
def test_wrong_frame_is_400_and_nothing_is_handled(client, graph, payload):
    assert post(client, payload).status_code == 400
    assert graph.requests == []


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("x", "entry[0].messaging[1] must be an object"),
        ({"message": {"text": "hi"}}, "entry[0].messaging[1].sender must be an object"),
        ({"sender": {"id": ""}, "message": {}}, "entry[0].messaging[1].sender.id must be a"),
        ({"sender": {"id": "u"}, "message": 3}, "entry[0].messaging[1].message must be an object"),
        ({"sender": {"id": "u"}, "message": {"text": 5}}, "[0].messaging[1].message.text must be"),
        (
            {"sender": {"id": "u" * 300}, "postback": {}},
            "[1].sender.id has 300 characters; at most 255",
        ),
        ({"sender": {"id": "u\x00"}, "message": {"text": "hi"}}, "[0].messaging[1].sender.id must"),
        (event("u", "m\x00", "hi"), "entry[0].messaging[1].message.mid must be a printable"),
    ],
)
def test_an_event_that_can_never_be_handled_costs_no_other(client, graph, caplog, bad, reason):
    """Meta would redeliver it for ever: it is skipped, logged, and the batch answered 200."""
    payload = batch([event("u1", "m.1", "first"), bad, event("u2", "m.2", "last")])
    assert post(client, payload).status_code == 200
    assert graph.replies() == [("u1", "text:first"), ("u2", "text:last")]
    assert "webhook event skipped: " in caplog.text and reason in caplog.text


def test_unstorable_characters_in_any_string_are_replaced(client, graph, bot):
    """NUL and lone surrogates (valid JSON escapes PostgreSQL refuses) become U+FFFD."""
    events = ",".join(
        [
            '{"sender":{"id":"u1"},"message":{"mid":"m.1","text":"a\\u0000b\\ud800c"}}',
            '{"sender":{"id":"u2"},"postback":{"mid":"m.2","payload":"P\\u0000","title":"t"}}',
            '{"sender":{"id":"u3"},"message":{"mid":"m.3","attachments":[{"type":"i\\udc00",'
            '"payload":{"url\\u0000":"x\\u0000"}}]}}',
        ]
    )
    text = '{"object":"page","entry":[{"id":"PAGE","messaging":[' + events + "]}]}"
    assert post(client, text.encode()).status_code == 200
    assert graph.replies() == [
        ("u1", "text:a\ufffdb\ufffdc"),
        ("u2", "postback:P\ufffd"),
        ("u3", "attachment: [i\ufffd]"),
    ]


def test_other_methods_are_405(client):
    assert client.put("/webhook", data=b"{}").status_code == 405


def test_messages_go_through_bot_receive_in_order(bot, client, graph, monkeypatch):
    """``Bot.receive`` handles inline or enqueues (queued mode): the webhook calls only it."""
    received = []
    monkeypatch.setattr(bot, "receive", received.append)
    post(client, batch([event("a", "m.1", "one"), event("b", "m.2", "two")]))
    post(client, sample("attachment_image"))

    assert [(m.user_id, m.text, m.kind, m.message_id) for m in received] == [
        ("a", "one", "text", "m.1"),
        ("b", "two", "text", "m.2"),
        (PSID, "", "attachment", "mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c"),
    ]
    assert received[2].attachments == ({"type": "image", "payload": {"url": "<ATTACHMENT_URL>"}},)
    assert received[0].timestamp == 1458692752478 and received[0].raw["message"]["mid"] == "m.1"
    assert graph.requests == []
