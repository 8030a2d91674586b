"""Instagram messaging: Meta's webhook shape under ``object: "instagram"``, the Send API."""

from __future__ import annotations

import pytest

from chatbotmaker_core import QuickReply, Reply
from chatbotmaker_core.web import create_app
from chatbotmaker_facebook import FacebookMessenger, InstagramMessenger
from chatbotmaker_facebook.payloads import utf8_units
from tests.support.facebook import (
    LONG_TEXT,
    PROOF,
    TOKEN,
    VERIFY_TOKEN,
    post,
    sample,
    sample_bytes,
    sign,
)


@pytest.fixture
def ig(make_meta_bot):
    return make_meta_bot(InstagramMessenger, turn_action="none")


@pytest.fixture
def ig_client(ig):
    return create_app(ig).test_client()


def test_a_text_is_answered_through_the_send_api_to_the_instagram_scoped_id(ig_client, graph):
    response = post(ig_client, sample("instagram_text"))
    assert response.status_code == 200
    assert graph.replies() == [("<IGSID>", "text:hello instagram")]
    (request,) = graph.messages()
    assert request.path == "/v25.0/me/messages"
    assert request.query == {"access_token": TOKEN, "appsecret_proof": PROOF}


def test_a_quick_reply_gives_the_handler_its_payload(ig_client, graph):
    post(ig_client, sample("instagram_quick_reply"))
    assert graph.texts() == ["quick_reply:<POSTBACK_PAYLOAD_1>"]


@pytest.mark.parametrize("name", ["instagram_echo", "instagram_seen"])
def test_echoes_and_seen_events_are_never_answered(ig_client, graph, name):
    assert post(ig_client, sample(name)).status_code == 200
    assert graph.requests == []


def test_a_messenger_body_is_not_answered_by_instagram_nor_the_reverse(ig_client, make_bot, graph):
    assert post(ig_client, sample("text")).status_code == 200
    fb_client = create_app(make_bot(turn_action="none")).test_client()
    assert post(fb_client, sample("instagram_text")).status_code == 200
    assert graph.requests == []


def test_signature_is_checked_with_the_app_secret(ig_client, graph):
    body = sample_bytes("instagram_text")
    assert post(ig_client, body, signature=sign(body, "wrong-secret")).status_code == 403
    assert post(ig_client, body, signature=False).status_code == 403
    assert graph.requests == []


def test_the_verification_handshake(ig_client):
    ok = ig_client.get(
        "/webhook",
        query_string={
            "hub.mode": "subscribe",
            "hub.challenge": "1158201444",
            "hub.verify_token": VERIFY_TOKEN,
        },
    )
    assert (ok.status_code, ok.get_data(as_text=True)) == (200, "1158201444")
    bad = ig_client.get(
        "/webhook",
        query_string={"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "nope"},
    )
    assert bad.status_code == 403


def test_long_text_is_split_at_1000_utf8_bytes(graph):
    messenger = InstagramMessenger(TOKEN, graph_url=graph.url, app_secret="s", verify_token="v")
    text = "é" * 900 + " " + LONG_TEXT  # é is 2 bytes: Messenger's 2000 characters would not do
    bodies = messenger.render("42", Reply(text))
    chunks = [b["message"]["text"] for b in bodies]
    assert all(utf8_units(chunk) <= 1000 for chunk in chunks)
    assert len(FacebookMessenger(TOKEN, app_secret="s").render("42", Reply(text))) < len(chunks)
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")  # nothing lost


def test_quick_replies_keep_instagrams_limits(graph):
    messenger = InstagramMessenger(TOKEN, app_secret="s", verify_token="v")
    options = tuple(QuickReply(f"Option number {i} is long", payload=f"P{i}") for i in range(15))
    (body,) = messenger.render("42", Reply("Pick", options))
    items = body["message"]["quick_replies"]
    assert len(items) == 13
    assert all(len(item["title"]) <= 20 for item in items)
    assert items[0]["payload"] == "P0"
