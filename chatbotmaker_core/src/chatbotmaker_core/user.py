"""What a handler can do with ``user``: the methods mixed into the ORM user class.

The ORM class itself is built per declarative base in :mod:`.database.models`; this mixin holds
the behaviour. During a turn ``user._turn`` points at the running :class:`~.turn.Turn`, which
owns the transaction, the argument cache and the reply list, and holds the messenger,
dispatcher and database the user exposes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm.attributes import set_committed_value

from .errors import ChatbotmakerError
from .message import Button, QuickReply, Reply

if TYPE_CHECKING:
    from .database import Database
    from .dispatcher import Dispatcher
    from .message import Message
    from .messenger import Messenger
    from .turn import Turn


class UserMixin:
    """Methods available on the ``user`` passed to every handler."""

    fb_id: str
    #: the messenger the user writes on (``users.channel``): replies go back through it
    channel: str
    #: when their last message was handled (Meta's 24-hour window); None: never
    last_message_at: datetime | None
    state: str

    @property
    def turn(self) -> Turn:
        turn: Turn | None = self.__dict__.get("_turn")
        if turn is None:
            raise ChatbotmakerError(
                f"user {self.fb_id!r} is not in a turn: send_message, change_state and "
                f"arguments work inside handlers run by Bot.handle"
            )
        return turn

    @property
    def messenger(self) -> Messenger:
        return self.turn.messenger

    @property
    def dispatcher(self) -> Dispatcher:
        return self.turn.dispatcher

    @property
    def database(self) -> Database:
        return self.turn.database

    @property
    def message(self) -> Message:
        """The incoming message being handled."""
        return self.turn.message

    def send_message(self, text: str) -> None:
        """Queue ``text``; it is sent, in order, once the turn commits."""
        self.turn.add_reply(Reply(str(text)))

    def send_quick_replies(self, text: str, options: Iterable[str | QuickReply]) -> None:
        """Queue ``text`` with suggested answers; plain text on messengers without them."""
        replies = tuple(o if isinstance(o, QuickReply) else QuickReply(str(o)) for o in options)
        self.turn.add_reply(Reply(str(text), quick_replies=replies))

    def send_buttons(self, text: str, buttons: Iterable[str | Button]) -> None:
        """Queue ``text`` with postback buttons; plain text on messengers without them."""
        items = tuple(b if isinstance(b, Button) else Button(str(b)) for b in buttons)
        self.turn.add_reply(Reply(str(text), buttons=items))

    def change_state(self, name: str) -> None:
        """Leave the current state (its ``post_func``) and enter ``name`` (its ``pre_func``).

        An unknown state raises :class:`~chatbotmaker_core.UnknownStateError` before anything
        runs, the state unchanged.
        """
        dispatcher = self.dispatcher
        dispatcher.check_state(name)
        dispatcher.execute_post_func(self)
        self.turn.transitions.append((self.state, name))  # recorded at the turn's end
        # The turn writes the state with one Core UPDATE at its end; the ORM need not track it.
        set_committed_value(self, "state", name)
        dispatcher.execute_pre_func(self)

    # -- the rest of 0.0.13's user API (docs/porting-0.0.13.md) -----------------------------

    def execute_handle(self, user_input: str) -> None:
        """Run the current state's ``func`` with ``user_input``, then its ``enter_func``.

        As in 0.0.13: a ``func`` that changed state re-dispatches the same input in the new
        state. The turn still runs the ``enter_func`` of the state the user ends in once
        ``func`` returns, so that ``enter_func`` may run twice, exactly as under 0.0.13.
        """
        dispatcher = self.dispatcher
        dispatcher.execute_func(self, user_input)
        dispatcher.execute_enter_func(self)

    def init_state(self) -> None:
        """Run the current state's ``pre_func`` (0.0.13 ran it for a new user's first state)."""
        self.dispatcher.execute_pre_func(self)

    def mark_seen(self) -> None:
        """Mark the user's message as seen now, through the messenger (not queued)."""
        self.messenger.mark_seen(self.fb_id)

    @property
    def user(self) -> UserMixin:
        """This user: 0.0.13's ``ExtendedUser.user``, the ORM object it wrapped."""
        return self

    def get_argument(self, name: str, default: Any = None) -> Any:
        """The value stored under ``name`` for this user, or ``default``."""
        return self.turn.get_argument(name, default)

    def store_argument(self, name: str, value: Any) -> Any:
        """Create or replace the argument ``name`` (any JSON-serialisable value)."""
        self.turn.store_argument(name, value)
        return value

    def __repr__(self) -> str:
        return f"User: {self.fb_id}"
