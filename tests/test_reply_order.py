"""Inline mode: two messages of one user, handled at once in one process, are answered in
the order their turns ran, even when the first turn's replies are slow to send."""

from __future__ import annotations

import threading

from chatbotmaker_core import Bot, Database, Dispatcher, Message
from chatbotmaker_core.testing import RecordingMessenger


class SlowFirstSend(RecordingMessenger):
    """Sending the first turn's reply takes a while; the test learns when it started."""

    def __init__(self) -> None:
        super().__init__()
        self.first_send_started = threading.Event()

    def send(self, user_id: str, text: str) -> None:
        if text == "reply to first":
            self.first_send_started.set()
            threading.Event().wait(0.5)  # the Graph API taking its time
        super().send(user_id, text)


def reply(user, user_input):
    user.send_message(f"reply to {user_input}")


def test_a_users_replies_keep_the_order_of_their_turns(tmp_path):
    messenger = SlowFirstSend()
    rules = {"actions": {"welcome": {"func": reply}}}
    bot = Bot({}, messenger, Dispatcher(rules), Database(f"sqlite:///{tmp_path}/bot.db"))
    first = threading.Thread(target=bot.handle, args=(Message("u1", "first", "m.1"),))
    first.start()
    assert messenger.first_send_started.wait(10)
    # The first turn has committed and is sending; the second message arrives now.
    second = threading.Thread(target=bot.handle, args=(Message("u1", "second", "m.2"),))
    second.start()
    first.join(10)
    second.join(10)
    assert messenger.sent == [("u1", "reply to first"), ("u1", "reply to second")]


def test_other_users_do_not_wait_for_a_slow_send(tmp_path):
    messenger = SlowFirstSend()
    rules = {"actions": {"welcome": {"func": reply}}}
    bot = Bot({}, messenger, Dispatcher(rules), Database(f"sqlite:///{tmp_path}/bot.db"))
    first = threading.Thread(target=bot.handle, args=(Message("u1", "first", "m.1"),))
    first.start()
    assert messenger.first_send_started.wait(10)
    bot.handle(Message("u2", "other", "m.2"))  # answered while u1's send is still going
    assert messenger.sent == [("u2", "reply to other")]
    first.join(10)
    assert messenger.sent[-1] == ("u1", "reply to first")
