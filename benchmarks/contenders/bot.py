"""The bot every contender runs, written once against the 0.0.13 handler API.

Two states, ``welcome`` and ``counting``. Each turn ``func`` reads the user's ``count``
argument, stores ``count + 1``, sends it and moves the user to the other state; ``post_func``
(old state) and ``pre_func`` (new state) run and do nothing; ``enter_func`` of the new state
sends a prompt. So a turn is: read the user and its state, read one argument, write it, write
the state, record the message, and deliver two replies.

0.0.13 stores argument values as text and ours as JSON, so the counter goes through ``int``.
The raw-sqlite3 contender does the same reads and writes without a framework.
"""

from __future__ import annotations

from typing import Any

INITIAL_STATE = "welcome"
STATES = ("welcome", "counting")
#: where each turn moves the user (the raw contenders write it by hand)
NEXT_STATE = {"welcome": "counting", "counting": "welcome"}
PROMPT = "Say anything and I count it."
COUNTER = "count"
#: the channel of the users the populate step makes: a Bot built in code with one messenger
#: that names none serves the channel "default" (chatbotmaker_core.channels)
CHANNEL = "default"


def _count(user: Any, next_state: str) -> None:
    count = int(user.get_argument(COUNTER, 0)) + 1
    user.store_argument(COUNTER, count)
    user.send_message(f"count: {count}")
    user.change_state(next_state)


def func_welcome(user: Any, user_input: str) -> None:
    _count(user, NEXT_STATE["welcome"])


def func_counting(user: Any, user_input: str) -> None:
    _count(user, NEXT_STATE["counting"])


def nothing(user: Any) -> None:
    """``pre_func`` and ``post_func``: called on every state change, do nothing."""


def prompt(user: Any) -> None:
    """``enter_func``: the prompt of the state the user is in after ``func``."""
    user.send_message(PROMPT)


def rules() -> dict[str, Any]:
    """A fresh dispatcher config (0.0.13's ``Dispatcher`` mutates the one it gets)."""
    return {
        "actions": {
            "welcome": {
                "func": func_welcome,
                "pre_func": nothing,
                "post_func": nothing,
                "enter_func": prompt,
            },
            "counting": {
                "func": func_counting,
                "pre_func": nothing,
                "post_func": nothing,
                "enter_func": prompt,
            },
        }
    }
