"""``DevMessenger``: the bot's replies on standard output, for the terminal and for tests."""

from __future__ import annotations

import sys

from chatbotmaker_core import Messenger
from chatbotmaker_core.message import Reply


class DevMessenger(Messenger):
    """Prints every reply as ``<user_id> > <text>``, its options numbered below it.

    Quick replies and postback buttons are numbered from 1 across the replies of one turn, and
    remembered until the user's next turn starts: ``chatbotmaker chat`` turns a typed number
    into that option's payload (:meth:`pick`), as a tap would on the platform. Link buttons are
    listed with their URL, unnumbered: tapping one opens a page and sends the bot nothing.
    """

    #: ``chatbotmaker chat`` can turn a typed number into the option shown with it.
    prints_to_terminal = True

    def __init__(self) -> None:
        #: user id -> ``(kind, payload)`` of each numbered option of the user's latest turn
        self.options: dict[str, list[tuple[str, str]]] = {}

    def send(self, user_id: str, text: str) -> None:
        # One write per reply, newline included: worker threads printing at once must not
        # interleave a reply with another's line end.
        sys.stdout.write(f"{user_id} > {text}\n")
        sys.stdout.flush()

    def send_reply(self, user_id: str, reply: Reply) -> None:
        options = self.options.setdefault(user_id, [])
        lines = [f"{user_id} > {reply.text}"]
        for quick in reply.quick_replies:
            options.append(("quick_reply", quick.payload or quick.title))
            lines.append(f"  {len(options)}. {quick.title}")
        for button in reply.buttons:
            if button.url is not None and button.payload is None:
                lines.append(f"  - {button.title}: {button.url}")
                continue
            options.append(("postback", button.payload or button.title))
            lines.append(f"  {len(options)}. {button.title}")
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()

    def turn_started(self, user_id: str) -> None:
        """A new turn numbers its options from 1 again."""
        self.options.pop(user_id, None)
        super().turn_started(user_id)

    def pick(self, user_id: str, text: str) -> tuple[str, str] | None:
        """``(kind, payload)`` of the option numbered ``text`` in the user's latest turn, or
        ``None`` when ``text`` is not such a number (then it is sent as typed)."""
        if not (text.isascii() and text.isdigit()):
            return None
        options = self.options.get(user_id, [])
        number = int(text)
        return options[number - 1] if 1 <= number <= len(options) else None
