"""One incoming message handled as one database transaction.

The turn claims the message id, locks (or creates) the user row, runs the handlers in the
seed's order and commits; replies wait in :attr:`Turn.replies` until after the commit.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import exc
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from .database.transitions import record as record_transitions
from .database.values import check_argument
from .message import Message, Reply
from .messenger import Messenger

if TYPE_CHECKING:
    from .bot import Bot

log = logging.getLogger(__name__)


def makes_sender_actions(messenger: Messenger) -> bool:
    """False when ``turn_started`` is the base one calling the base (no-op) ``mark_seen``."""
    kind = type(messenger)
    return kind.turn_started is not Messenger.turn_started or kind.mark_seen is not (
        Messenger.mark_seen
    )


def is_database_outage(error: BaseException) -> bool:
    """True for a lost or unusable database connection, as opposed to a handler's bug."""
    return isinstance(error, (exc.OperationalError, exc.InterfaceError)) or bool(
        getattr(error, "connection_invalidated", False)
    )


class HandlerFailed(Exception):
    """A handler (or the flush of what it added) raised; the turn was rolled back.

    ``error`` may be any :class:`BaseException`: a handler calling ``sys.exit()`` or raising
    ``KeyboardInterrupt`` fails its turn like any other, so the webhook still answers.
    """

    def __init__(self, error: BaseException, state: str | None) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error
        self.state = state


class Turn:
    """The transaction, argument cache and outbox of one message."""

    def __init__(self, bot: Bot, message: Message) -> None:
        self.bot = bot
        self.message = message
        self.replies: list[Reply] = []
        self.state: str | None = None  # the state the user was in when the turn began
        self.is_new_user = False
        self.removed_state: str | None = None  # a stored state the rules no longer have
        self.staged = False  # replies handed to the queue inside the transaction
        self._conn: Any = None
        self._user_id: int | None = None
        self._arguments: dict[str, tuple[bool, Any]] = {}
        self.transitions: list[tuple[str, str]] = []  # change_state calls (database/transitions)

    def queue(self, reply: Reply) -> None:
        self.replies.append(reply)

    def get_argument(self, name: str, default: Any = None) -> Any:
        cached = self._arguments.get(name)
        if cached is None:
            cached = self.bot.database.store.get_argument(self._conn, self._user_id, name)
            self._arguments[name] = cached
        found, value = cached
        return value if found else default

    def store_argument(self, name: str, value: Any) -> None:
        check_argument(name, value)
        self.bot.database.store.store_argument(self._conn, self._user_id, name, value)
        self._arguments[name] = (True, value)

    def run(self) -> bool:
        """Handle the message; False when its id was handled before (nothing ran).

        ``turn_started`` (the messenger's sender action) runs first, outside the transaction.

        Raises :class:`HandlerFailed` when a handler raised; the transaction is rolled back.
        """
        database = self.bot.database
        store = database.store
        message = self.message
        with database.engine.connect() as conn:
            if self._handled_before(conn):
                return False
            self.bot.messenger.turn_started(message.user_id)
            with conn.begin():
                if message.message_id is not None and not store.claim_message(
                    conn, message.message_id, message.user_id
                ):
                    return False
                row, self.is_new_user = store.lock_user(
                    conn, message.user_id, self.bot.initial_state
                )
                self._conn, self._user_id, self.state = conn, row.id, self._current_state(row.state)
                try:
                    with database.turn_session(conn) as session:
                        user = self._attach_user(session, self.state)
                        self._run_handlers(user)
                        session.flush()
                except BaseException as error:  # noqa: BLE001 - sys.exit() in a handler included
                    if isinstance(error, Exception) and is_database_outage(error):
                        raise  # not the handler's fault: nothing is recorded, the event is retried
                    raise HandlerFailed(error, self.state) from error
                finally:
                    self._conn = None
                if user.state != row.state:
                    store.set_state(conn, row.id, user.state)
                record_transitions(conn, self)  # operations: one INSERT when the state changed
                if self.replies and self.bot.queue is not None:
                    # Queued mode: the delivery job commits with the turn (a transactional outbox).
                    self.bot.queue.stage_replies(conn, message.user_id, self.replies)
                    self.staged = True
            return True

    def _handled_before(self, conn: Any) -> bool:
        """Whether a redelivered message's id is recorded already, looked up before the
        sender action so a redelivery shows no typing indicator.

        Read on the turn's connection outside any transaction (no lock is held during the
        platform call); the claim inside the transaction still settles a race of deliveries.
        Skipped when the messenger makes no sender action: the claim alone suffices then.
        """
        message_id = self.message.message_id
        if message_id is None or not makes_sender_actions(self.bot.messenger):
            return False
        return self.bot.database.store.is_handled(conn, message_id)

    def _current_state(self, stored: str) -> str:
        """``stored``, or the initial state when the rules no longer have ``stored``."""
        if self.bot.dispatcher.has_state(stored):
            return stored
        self.removed_state = stored
        log.warning(
            "user %s was in state %r, which the rules no longer have; "
            "moved to the initial state %r",
            self.message.user_id,
            stored,
            self.bot.initial_state,
        )
        return self.bot.initial_state

    def _attach_user(self, session: Any, state: str) -> Any:
        """The ORM user in ``state``, made persistent in ``session`` without another SELECT."""
        mapper = self.bot.database.user_class.__mapper__
        # A no-op once relationships added by the application are set up; unlike
        # configure_mappers() it does not gather every registry of the process first.
        mapper.registry.configure(cascade=True)
        user = mapper.class_manager.new_instance()
        set_committed_value(user, "id", self._user_id)
        set_committed_value(user, "fb_id", self.message.user_id)
        set_committed_value(user, "state", state)
        make_transient_to_detached(user)
        session.add(user)
        user.__dict__["_turn"] = self
        return user

    def _run_handlers(self, user: Any) -> None:
        dispatcher = self.bot.dispatcher
        if self.is_new_user or self.removed_state is not None:
            dispatcher.execute_pre_func(user)  # entering the initial state
        dispatcher.execute_func(user, self.message.text)
        dispatcher.execute_enter_func(user)
