"""WhatsApp Cloud API: Meta's webhook shape, the Cloud API sends, read receipts, errors."""

from __future__ import annotations

import json

import pytest

from chatbotmaker_core import Button, QuickReply, Reply
from chatbotmaker_core.web import create_app
from chatbotmaker_facebook import GraphAPIError, WhatsAppMessenger
from chatbotmaker_facebook.whatsapp.render import render_reply
from tests.support.facebook import APP_SECRET, VERIFY_TOKEN, post, sample, sample_bytes, sign

WA_TOKEN = "EAAwhatsappSYSTEMuserTOKEN0123"
PHONE_ID = "106540352242922"  # the phone_number_id of the samples
USER = "16505551234"


@pytest.fixture
def wa_bot(make_meta_bot):
    return make_meta_bot(WhatsAppMessenger, WA_TOKEN, phone_number_id=PHONE_ID)


@pytest.fixture
def wa(wa_bot):
    return create_app(wa_bot).test_client()


def bodies(graph):
    return [r.body for r in graph.whatsapp()]


def texts(graph):
    return [b["text"]["body"] for b in bodies(graph) if b["type"] == "text"]


def test_a_text_is_answered_through_the_phone_numbers_messages_edge(wa, graph):
    assert post(wa, sample("whatsapp_text")).status_code == 200
    (request,) = graph.whatsapp()
    assert request.path == f"/v25.0/{PHONE_ID}/messages"
    assert request.headers["Authorization"] == f"Bearer {WA_TOKEN}"
    assert "access_token" not in request.query and "appsecret_proof" in request.query
    assert request.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": USER,
        "type": "text",
        "text": {"body": "text:Does it come in another color?"},
    }


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("whatsapp_button_reply", "quick_reply:YES"),
        ("whatsapp_list_reply", "quick_reply:priority_express"),
        ("whatsapp_location", "attachment: [location]"),
        ("whatsapp_image", "text:This is a caption [image]"),
    ],
)
def test_replies_and_attachments_reach_the_handler(wa, graph, name, answer):
    post(wa, sample(name))
    assert texts(graph) == [answer]


def test_location_attachment_has_the_coordinates(wa_bot):
    (message,) = wa_bot.messenger.parse_webhook(sample("whatsapp_location"))
    assert message.attachments[0]["payload"]["latitude"] == pytest.approx(37.483253479)
    assert message.timestamp == 1749416383000 and message.user_id == USER


def test_statuses_are_never_answered(wa, graph):
    assert post(wa, sample("whatsapp_statuses")).status_code == 200
    assert graph.requests == []


def test_a_redelivered_wamid_is_handled_once(wa, graph):
    post(wa, sample("whatsapp_text"))
    post(wa, sample("whatsapp_text"))
    assert texts(graph) == ["text:Does it come in another color?"]


def test_every_change_of_every_entry_is_handled(wa, graph):
    body = sample("whatsapp_text")
    second = json.loads(json.dumps(body["entry"][0]))
    message = second["changes"][0]["value"]["messages"][0]
    message.update(id="wamid.second", text={"body": "again"})
    body["entry"].append(second)
    status = sample("whatsapp_statuses")["entry"][0]["changes"][0]
    body["entry"][0]["changes"].insert(0, status)
    post(wa, body)
    assert texts(graph) == ["text:Does it come in another color?", "text:again"]


def test_messages_for_another_phone_number_are_not_answered(wa, graph):
    body = sample("whatsapp_text")
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    assert post(wa, body).status_code == 200
    assert graph.requests == []


def test_a_malformed_body_is_a_400(wa, graph):
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"changes": [{"field": "messages", "value": []}]}],
    }
    response = post(wa, body)
    assert response.status_code == 400
    assert "entry[0].changes[0].value must be an object" in response.get_data(as_text=True)


def test_signature_and_handshake(wa, graph):
    body = sample_bytes("whatsapp_text")
    assert post(wa, body, signature=sign(body, "not-" + APP_SECRET)).status_code == 403
    assert graph.requests == []
    args = {"hub.mode": "subscribe", "hub.challenge": "77", "hub.verify_token": VERIFY_TOKEN}
    assert wa.get("/webhook", query_string=args).get_data(as_text=True) == "77"
    args["hub.verify_token"] = "wrong"
    assert wa.get("/webhook", query_string=args).status_code == 403


def test_the_read_receipt_names_the_last_inbound_message(make_meta_bot, graph):
    bot = make_meta_bot(WhatsAppMessenger, WA_TOKEN, phone_number_id=PHONE_ID)
    client = create_app(bot).test_client()
    post(client, sample("whatsapp_text"))
    wamid = sample("whatsapp_text")["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert graph.receipts() == [wamid]
    assert graph.requests[0].body == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": wamid,
    }


def test_no_read_receipt_without_a_known_message(graph):
    messenger = WhatsAppMessenger(WA_TOKEN, phone_number_id=PHONE_ID, graph_url=graph.url)
    messenger.mark_seen(USER)
    assert graph.requests == []


# -- rendering within WhatsApp's limits ----------------------------------------------------


def test_up_to_three_short_choices_are_reply_buttons():
    reply = Reply("Pick", (QuickReply("Red"),), (Button("Yes", payload="YES"),))
    (body,) = render_reply(USER, reply)
    assert body["interactive"] == {
        "type": "button",
        "body": {"text": "Pick"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "Red", "title": "Red"}},
                {"type": "reply", "reply": {"id": "YES", "title": "Yes"}},
            ]
        },
    }


def test_a_title_over_20_characters_or_a_fourth_choice_makes_a_list():
    long = Reply(
        "Pick", (QuickReply("A colour name over twenty", payload="LONG"), QuickReply("Red"))
    )
    four = Reply("Pick", tuple(QuickReply(c) for c in "ABCD"))
    for reply in (long, four):
        (body,) = render_reply(USER, reply, "Colours")
        assert body["interactive"]["type"] == "list"
        assert body["interactive"]["action"]["button"] == "Colours"
    rows = render_reply(USER, long)[0]["interactive"]["action"]["sections"][0]["rows"]
    assert rows[0] == {
        "id": "LONG",
        "title": "A colour name over twen…",
        "description": "A colour name over twenty",
    }
    assert all(len(row["title"]) <= 24 for row in rows)


def test_more_than_ten_choices_are_numbered_text():
    reply = Reply("Pick", tuple(QuickReply(f"C{i}") for i in range(11)))
    (body,) = render_reply(USER, reply)
    assert body["type"] == "text"
    assert body["text"]["body"].splitlines() == ["Pick"] + [f"{i}. C{i - 1}" for i in range(1, 12)]


def test_long_text_is_split_at_4096_and_the_buttons_body_at_1024():
    words = " ".join(f"word{i:04d}" for i in range(1000))  # 8999 characters
    assert [len(b["text"]["body"]) <= 4096 for b in render_reply(USER, Reply(words))] == [True] * 3
    with_buttons = render_reply(USER, Reply(words, (QuickReply("OK"),)))
    assert [b["type"] for b in with_buttons] == ["text", "text", "interactive"]
    assert len(with_buttons[-1]["interactive"]["body"]["text"]) <= 1024
    sent = [b["text"]["body"] for b in with_buttons[:-1]] + [
        with_buttons[-1]["interactive"]["body"]["text"]
    ]
    assert " ".join(sent).split() == words.split()


def test_link_buttons_become_lines_of_text():
    (body,) = render_reply(USER, Reply("See", buttons=(Button("Site", url="https://example.com"),)))
    assert body["text"]["body"] == "See\nSite: https://example.com"


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample_name", "status", "transient", "fragment"),
    [
        ("whatsapp_error_130429", 400, True, "Cloud API message throughput has been reached"),
        ("whatsapp_error_131047", 400, False, "only templates can be sent"),
    ],
)
def test_cloud_api_errors_are_classified(graph, sample_name, status, transient, fragment):
    messenger = WhatsAppMessenger(WA_TOKEN, phone_number_id=PHONE_ID, graph_url=graph.url)
    graph.fail(status, sample(sample_name))
    with pytest.raises(GraphAPIError) as caught:
        messenger.send(USER, "hello")
    error = caught.value
    assert error.transient is transient
    assert fragment in str(error) and "WhatsApp Cloud API error" in str(error)
    assert WA_TOKEN not in str(error)


def test_a_rate_limited_reply_is_retried_and_delivered(wa, graph):
    graph.fail(400, sample("whatsapp_error_130429"))
    post(wa, sample("whatsapp_text"))
    assert texts(graph) == ["text:Does it come in another color?"] * 2  # refused, then sent


def test_a_bad_phone_number_id_is_a_config_error():
    from chatbotmaker_core import ConfigError

    with pytest.raises(ConfigError, match="phone_number_id must be the numeric id"):
        WhatsAppMessenger(WA_TOKEN, phone_number_id="+1 555 0100")
