"""What flows through a bot: one incoming :class:`Message`, the outgoing :class:`Reply`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ChatbotmakerError

#: user and message ids are stored in ``String(255)`` columns (PostgreSQL counts characters)
MAX_ID_LENGTH = 255


class InvalidMessageError(ChatbotmakerError, ValueError):
    """A :class:`Message` whose ids the database cannot store (too long, empty, not text).

    Raised when the message is made, before any database work, so PostgreSQL and SQLite refuse
    the same ids (SQLite would store an over-long one that PostgreSQL rejects mid-turn).
    """


@dataclass(frozen=True)
class Message:
    """One incoming event from a platform user.

    ``text`` is what the state's ``func`` receives as ``user_input``: the text typed, or the
    payload of a quick reply or postback. ``message_id`` is the platform's id, used to skip a
    redelivered message; ``None`` (the terminal, ``user_handle``) disables that check.
    """

    user_id: str
    text: str | None
    message_id: str | None = None
    kind: str = "text"
    payload: str | None = None
    attachments: tuple[Any, ...] = ()
    timestamp: int | None = None
    raw: Any = None
    #: the messenger it came from (a ``[messengers.<name>]`` table); None: the bot's default
    channel: str | None = None

    def __post_init__(self) -> None:
        _check_id(self.user_id, "user id")
        if self.channel is not None and (not isinstance(self.channel, str) or not self.channel):
            raise InvalidMessageError(
                f"channel must be a non-empty string or None, got {self.channel!r}"
            )
        if self.message_id is not None:
            _check_id(self.message_id, "message id")


def _check_id(value: Any, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidMessageError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidMessageError(
            f"{what} of {len(value)} characters ({value[:20] + '...'!r}): ids are stored in "
            f"columns of {MAX_ID_LENGTH} characters; refuse or shorten it before it reaches "
            f"the bot"
        )


@dataclass(frozen=True)
class QuickReply:
    """A suggested answer shown as a chip; tapping it sends ``payload`` (default: the title)."""

    title: str
    payload: str | None = None


@dataclass(frozen=True)
class Button:
    """A postback button (``payload``) or a link button (``url``)."""

    title: str
    payload: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Reply:
    """One message queued by a handler and delivered after the turn commits."""

    text: str
    quick_replies: tuple[QuickReply, ...] = ()
    buttons: tuple[Button, ...] = ()
    #: a Meta message tag (``ACCOUNT_UPDATE``...): the reply goes outside the 24-hour window
    #: as ``messaging_type`` MESSAGE_TAG (``Bot.send_message``); None inside a turn
    tag: str | None = None

    def as_plain_text(self) -> str:
        """The reply for a messenger without quick replies or buttons: options as a list."""
        options = [q.title for q in self.quick_replies] + [b.title for b in self.buttons]
        if not options:
            return self.text
        lines = [self.text] + [f"  {i}. {title}" for i, title in enumerate(options, 1)]
        return "\n".join(lines)
