"""The webhook answers Meta whatever a handler does: ``sys.exit()`` in a handler is a failure."""

import sys

import pytest
from fb_helpers import batch, event, post

from chatbotmaker_core.web import create_app


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
