"""``DevMessenger``: the bot's replies on standard output, for the terminal and for tests."""

from __future__ import annotations

import sys

from chatbotmaker_core import Messenger


class DevMessenger(Messenger):
    """Prints every reply as ``<user_id> > <text>``."""

    #: ``chatbotmaker chat`` keeps a messenger that already prints, instead of swapping it.
    prints_to_terminal = True

    def send(self, user_id: str, text: str) -> None:
        # One write per reply, newline included: worker threads printing at once must not
        # interleave a reply with another's line end.
        sys.stdout.write(f"{user_id} > {text}\n")
        sys.stdout.flush()
