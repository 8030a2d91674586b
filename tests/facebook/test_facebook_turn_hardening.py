"""The webhook answers Meta whatever a handler does: ``sys.exit()`` in a handler is a failure."""

import sys

import pytest

from chatbotmaker_core.web import create_app
from tests.support.facebook import batch, event, post


@pytest.mark.parametrize("raised", [SystemExit, KeyboardInterrupt])
def test_a_handler_exiting_still_gets_the_request_answered(make_bot, graph, raised):
    bot = make_bot()

    def leave(user, user_input):
        if user_input == "exit":
            user.send_message("never sent")
            if raised is SystemExit:
                sys.exit(0)
            raise raised()
        user.send_message(f"echo:{user_input}")

    bot.dispatcher.actions["welcome"]["func"] = leave
    client = create_app(bot).test_client()
    response = post(client, batch([event("u1", "m.1", "exit"), event("u2", "m.2", "hi")]))

    assert (response.status_code, response.text) == (200, "EVENT_RECEIVED")
    assert graph.replies() == [
        ("u1", "Sorry, something went wrong on our side. Please try again."),
        ("u2", "echo:hi"),
    ]
    assert bot.database.get_user("u1") is None  # rolled back
    # Meta's redelivery of the same body changes nothing.
    graph.reset()
    assert (
        post(client, batch([event("u1", "m.1", "exit"), event("u2", "m.2", "hi")])).status_code
        == 200
    )
    assert graph.requests == []


@pytest.mark.parametrize("too_long", ["sender", "mid", "postback"])
def test_an_over_long_id_skips_its_event_and_the_rest_is_handled(
    client, graph, bot, caplog, too_long
):
    long_id = "1" * 256
    bad = event(long_id, "m.1", "hi") if too_long == "sender" else event("u1", long_id, "hi")
    if too_long == "postback":  # the over-long id of an event other than a message
        bad = {"sender": {"id": long_id}, "recipient": {"id": "PAGE"}, "postback": {}}
    response = post(client, batch([bad, event("u2", "m.2", "hello")]))

    assert (response.status_code, response.text) == (200, "EVENT_RECEIVED")
    assert graph.replies() == [("u2", "text:hello")]
    assert bot.database.get_user(long_id) is None and bot.database.get_user("u1") is None
    field = "message.mid" if too_long == "mid" else "sender.id"
    assert (
        f"webhook event skipped: entry[0].messaging[0].{field} has 256 characters; at most 255 can be stored"
        in caplog.text
    )
