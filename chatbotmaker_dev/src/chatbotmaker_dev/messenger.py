"""``DevMessenger``: the bot's replies on standard output, for the terminal and for tests."""

from __future__ import annotations

from chatbotmaker_core import Messenger


class DevMessenger(Messenger):
    """Prints every reply as ``<user_id> > <text>``."""

    #: ``chatbotmaker chat`` keeps a messenger that already prints, instead of swapping it.
    prints_to_terminal = True

    def send(self, user_id: str, text: str) -> None:
        print(f"{user_id} > {text}", flush=True)
