"""The messenger interface: how a bot talks back to the platform."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .message import Reply

if TYPE_CHECKING:
    from flask import Blueprint

    from .bot import Bot


class Messenger:
    """Base class of messengers. ``send`` is required; the rest are optional.

    ``send`` raises :class:`~chatbotmaker_core.DeliveryError` when delivery fails, with
    ``transient=True`` when trying again may help. A messenger that receives webhooks also
    implements ``blueprint(bot)`` returning a Flask blueprint, served at ``/webhook``.
    """

    def send(self, user_id: str, text: str) -> object:
        """Send ``text`` to ``user_id``."""
        raise NotImplementedError(f"{type(self).__name__} must implement send(user_id, text)")

    def mark_writing(self, user_id: str, on: bool) -> None:
        """Show or hide a typing indicator. No-op unless the platform has one."""

    def mark_seen(self, user_id: str) -> None:
        """Mark the user's last message as seen. No-op unless the platform has it."""

    def send_reply(self, user_id: str, reply: Reply) -> object:
        """Send a reply that may carry quick replies or buttons.

        Messengers that support them override this; the default sends them as plain text.
        """
        return self.send(user_id, reply.as_plain_text())

    def render(self, user_id: str, reply: Reply) -> Sequence[Any]:
        """The platform payloads ``reply`` becomes, sent in order by :meth:`send_payload`.

        Delivery retries each payload on its own, so a reply split into several messages
        resumes at the one that failed. The default is the reply itself, one payload.
        """
        return (reply,)

    def send_payload(self, user_id: str, payload: Any) -> object:
        """Send one payload of :meth:`render`; the default sends it with :meth:`send_reply`.

        Raises :class:`~chatbotmaker_core.DeliveryError` like ``send``.
        """
        return self.send_reply(user_id, payload)

    #: whether the platform allows free-form sends only within 24 hours of the user's last
    #: message (Meta's products): ``Bot.send_message`` checks the window then
    reply_window = False
    #: whether the platform takes a message tag to send outside that window (Messenger)
    message_tags = False

    @property
    def acts_on_turn_start(self) -> bool:
        """False when :meth:`turn_started` sends nothing for this messenger (its sender action
        switched off, e.g. ``turn_action = "none"``): a turn then skips looking up whether a
        message was handled before it, a database round trip that only spares a redelivered
        message its typing indicator."""
        return True

    def turn_started(self, user_id: str) -> None:
        """Called once before a message's handlers run: the seen mark and typing indicator.

        Platforms that can do both in one call override this to spare a request. An override
        that declares a ``message`` parameter gets the turn's :class:`Message` as
        ``message=`` (WhatsApp's read receipt names the message id).
        """
        self.mark_seen(user_id)

    def blueprint(self, bot: Bot) -> Blueprint:  # pragma: no cover - interface only
        raise NotImplementedError(f"{type(self).__name__} does not receive webhooks")


class NullMessenger(Messenger):
    """Sends nothing. For benchmarks and for bots driven only by tests."""

    def send(self, user_id: str, text: str) -> None:
        return None
