"""Several messengers in one bot, and Meta's 24-hour window for sends outside a turn.

A *channel* is a messenger's name in the bot: the table of ``[messengers.<name>]``, the
``name`` of a single ``[messenger]``, or a hand-made messenger's ``channel`` attribute. Users
are unique per (channel, platform id); replies go back through the channel's messenger.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .errors import ChatbotmakerError, ConfigError

if TYPE_CHECKING:
    from .database import Database
    from .messenger import Messenger

#: Meta's standard messaging window: free-form messages within 24 hours of the user's last one
WINDOW = timedelta(hours=24)
#: the channel of a hand-made messenger without a ``channel`` name
DEFAULT_CHANNEL = "default"


class WindowClosedError(ChatbotmakerError):
    """A send outside a turn, without a message tag, to a user whose window is closed."""


class UnknownChannelError(ChatbotmakerError, LookupError):
    """A message or send names a channel the bot has no messenger for."""


def channel_of(messenger: Any) -> str:
    """The channel a single, hand-made messenger serves: its ``channel`` name if it has one."""
    name = getattr(messenger, "channel", None)
    return name if isinstance(name, str) and name else DEFAULT_CHANNEL


def messengers_for(
    messenger: Messenger | None, messengers: Mapping[str, Messenger] | None
) -> dict[str, Messenger]:
    """The bot's ``{channel: messenger}``, its default first, from ``Bot``'s arguments."""
    if messengers is None:
        if messenger is None:
            raise ConfigError("Bot needs a messenger: pass one, or messengers={name: ...}")
        return {channel_of(messenger): messenger}
    found = dict(messengers)
    if not found:
        raise ConfigError("Bot(messengers={...}) is empty; give at least one messenger")
    for name in found:
        if not isinstance(name, str) or not name or len(name) > 64:
            raise ConfigError(
                f"messenger name {name!r} must be a non-empty string of at most 64 characters"
            )
    if messenger is not None:
        if messenger not in found.values():
            raise ConfigError(
                "Bot(config, messenger, ..., messengers=...): the messenger must be one of "
                "messengers (it is the default one); pass None as messenger, or include it"
            )
        default = next(name for name, given in found.items() if given is messenger)
        found = {default: messenger, **found}
    return found


def unknown_channel(channel: str, known: Mapping[str, Any]) -> UnknownChannelError:
    return UnknownChannelError(
        f"channel {channel!r} has no messenger in this bot (its channels: "
        f"{', '.join(map(repr, known))}); add a [messengers.{channel}] table or fix the name"
    )


def window_open(last_message_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether a user whose last message was at ``last_message_at`` is within the window."""
    if last_message_at is None:
        return False
    if last_message_at.tzinfo is None:  # SQLite returns naive UTC
        last_message_at = last_message_at.replace(tzinfo=timezone.utc)
    return (now or datetime.now(timezone.utc)) - last_message_at < WINDOW


def check_send(
    database: Database, messenger: Messenger, channel: str, user_id: str, tag: str | None
) -> None:
    """Raise when a send outside a turn is not allowed: an unknown user, a tag the platform
    does not take, or a closed window without a tag."""
    if tag is not None:
        if not isinstance(tag, str) or not tag:
            raise ValueError(f"tag must be a message tag such as 'ACCOUNT_UPDATE', got {tag!r}")
        if not messenger.message_tags:
            raise WindowClosedError(
                f"channel {channel!r} ({type(messenger).__name__}) takes no message tags; "
                f"send without tag= inside the 24-hour window (WhatsApp: a template)"
            )
    user = database.get_user(user_id, channel=channel)
    if user is None:
        raise LookupError(f"no user {user_id!r} on channel {channel!r}")
    if tag is None and messenger.reply_window and not window_open(user.last_message_at):
        last = user.last_message_at
        raise WindowClosedError(
            f"user {user_id!r} on channel {channel!r}: the 24-hour window is closed (last "
            f"message: {last.isoformat() if last else 'never'}); pass tag= with a message "
            f"tag that fits the message (e.g. tag='ACCOUNT_UPDATE') or wait for their message"
        )
