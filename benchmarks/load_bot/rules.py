"""The load test's bot: one state; every text message bumps a per-user counter.

The reply ``"<user id>:<n>:<text>"`` tells the load test which event it answers (the text is
unique per user) and in which order the user's turns ran (``n``): with every event handled
exactly once and in order, the n-th message of a user is answered with ``n``.
"""

from __future__ import annotations

from typing import Any

from chatbotmaker_core import Dispatcher

COUNTER = "count"


def func_welcome(user: Any, user_input: str) -> None:
    count = user.get_argument(COUNTER, 0) + 1
    user.store_argument(COUNTER, count)
    user.send_message(f"{user.fb_id}:{count}:{user_input}")


RULES = {"actions": {"welcome": Dispatcher.DEFAULT}}
