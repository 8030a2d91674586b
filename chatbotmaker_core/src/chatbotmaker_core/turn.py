"""One incoming message handled as one database transaction.

The turn claims the message id, locks (or creates) the user row, runs the handlers in the
seed's order and commits. Its replies go to the bot's :class:`ReplySink`, chosen once: in
inline mode they wait in :attr:`Turn.replies` and are delivered after the commit; in queued
mode they are staged as a delivery job inside the transaction (a transactional outbox).

Internal module: ``Bot.handle`` runs turns; handlers see them only through ``user``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, exc
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state

from .database.transitions import record as record_transitions
from .database.turnconn import turn_connection
from .database.values import check_argument
from .message import Message, Reply
from .messenger import Messenger

if TYPE_CHECKING:
    from .database import Database
    from .dispatcher import Dispatcher

log = logging.getLogger(__name__)


def makes_sender_actions(messenger: Messenger) -> bool:
    """False when ``turn_started`` is the base one calling the base (no-op) ``mark_seen``, or
    the messenger says it does nothing (``Messenger.acts_on_turn_start``)."""
    kind = type(messenger)
    overridden = kind.turn_started is not Messenger.turn_started or kind.mark_seen is not (
        Messenger.mark_seen
    )
    return overridden and messenger.acts_on_turn_start


def started(messenger: Messenger, message: Message) -> None:
    """``messenger.turn_started``, given the message when it takes one (``message=``): a
    WhatsApp read receipt names the message; a messenger defining ``turn_started(self,
    user_id)`` keeps working."""
    hook = messenger.turn_started
    if _takes_message(type(messenger)):
        hook(message.user_id, message=message)  # type: ignore[call-arg]
    else:
        hook(message.user_id)


_TAKES_MESSAGE: dict[type, bool] = {}


def _takes_message(kind: type) -> bool:
    found = _TAKES_MESSAGE.get(kind)
    if found is None:
        import inspect

        try:
            parameters = inspect.signature(kind.turn_started).parameters  # type: ignore[attr-defined]
        except (TypeError, ValueError):
            parameters = {}  # type: ignore[assignment]
        found = _TAKES_MESSAGE[kind] = "message" in parameters
    return found


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


class ReplySink(Protocol):
    """Where a turn's replies go inside its transaction.

    ``stages`` is False for inline mode (:class:`DeliverAfterCommit`: nothing happens in the
    transaction, the bot delivers once it commits) and True for the queue, whose
    :meth:`stage` defers the delivery on the turn's own connection. ``conn`` is a SQLAlchemy
    ``Connection``, or, for a sink whose ``stages_on_driver`` is True (the queue: it uses only
    ``conn.connection.driver_connection``), the turn's connection on the driver path, so that
    queued turns need no ``Connection`` either.
    """

    stages: bool
    stages_on_driver: bool

    def stage(
        self,
        conn: Any,
        platform_id: str,
        replies: list[Reply],
        channel: str | None = None,
    ) -> None: ...


class DeliverAfterCommit:
    """Inline mode's sink: nothing is staged; the bot delivers the replies after the commit."""

    stages = False
    stages_on_driver = False

    def stage(
        self,
        conn: Any,
        platform_id: str,
        replies: list[Reply],
        channel: str | None = None,
    ) -> None:
        return None


class Turn:
    """The transaction, argument cache and reply list of one message.

    It holds what it uses and what ``user`` exposes to handlers (``user.messenger``,
    ``user.dispatcher``, ``user.database``), not the bot.
    """

    def __init__(
        self,
        message: Message,
        *,
        database: Database,
        dispatcher: Dispatcher,
        messenger: Messenger,
        initial_state: str,
        sink: ReplySink,
        channel: str = "",
    ) -> None:
        self.message = message
        #: the messenger's name: the user is the one with this platform id on this channel
        self.channel = channel
        self.database = database
        self.dispatcher = dispatcher
        self.messenger = messenger
        self.initial_state = initial_state
        self.sink = sink
        self.store = database.store
        self.replies: list[Reply] = []
        self.state: str | None = None  # the state the user was in when the turn began
        self.is_new_user = False
        self.removed_state: str | None = None  # a stored state the rules no longer have
        self.staged = False  # replies handed to the sink inside the transaction
        self._conn: Any = None
        self._user_key: int | None = None
        self._arguments: dict[str, tuple[bool, Any]] = {}
        self.transitions: list[tuple[str, str]] = []  # change_state calls (database/transitions)

    def add_reply(self, reply: Reply) -> None:
        """Append ``reply`` to the turn's replies (sent, in order, once the turn commits)."""
        self.replies.append(reply)

    def get_argument(self, name: str, default: Any = None) -> Any:
        cached = self._arguments.get(name)
        if cached is None:
            cached = self.store.get_argument(self._conn, self._user_key, name)  # type: ignore[arg-type]
            self._arguments[name] = cached
        found, value = cached
        return value if found else default

    def store_argument(self, name: str, value: Any) -> None:
        check_argument(name, value)
        self.store.store_argument(self._conn, self._user_key, name, value)  # type: ignore[arg-type]
        self._arguments[name] = (True, value)

    def run(self) -> bool:
        """Handle the message; False when its id was handled before (nothing ran).

        ``turn_started`` (the messenger's sender action) runs first, outside the transaction.

        Raises :class:`HandlerFailed` when a handler raised; the transaction is rolled back.
        """
        store = self.store
        message = self.message
        sink = self.sink
        needs_core = sink.stages and not sink.stages_on_driver  # a Connection to stage on
        turn_conn = turn_connection(self.database.engine, store, needs_core)
        conn = turn_conn.store_conn  # what the store's statements run on
        try:
            if self._handled_before(conn):
                return False
            started(self.messenger, message)
            turn_conn.begin()
            if not self._claim(conn):
                return False  # closing rolls the claim's transaction back
            row, self.is_new_user = store.lock_user(
                conn, self.channel, message.user_id, self.initial_state
            )
            self._conn, self._user_key = conn, row.id
            self.state = self._current_state(row.state)
            try:
                with self.database.turn_session(turn_conn.sqlalchemy_connection) as session:
                    user = self._attach_user(session, self.state)
                    self._run_handlers(user)
                    session.flush()
            except BaseException as error:  # noqa: BLE001 - sys.exit() in a handler included
                if isinstance(error, Exception) and is_database_outage(error):
                    raise  # not the handler's fault: nothing is recorded, the event is retried
                raise HandlerFailed(error, self.state) from error
            finally:
                self._conn = None
            if user.state != row.state or not self.is_new_user:
                # the state and the time of the last message (the 24-hour window): one
                # UPDATE; a new user's row got both when it was inserted
                store.set_state(conn, row.id, user.state)
            record_transitions(conn, self)  # one INSERT when the state changed
            if self.replies and sink.stages:
                self._stage(turn_conn.staging_connection(sink.stages_on_driver), self.replies)
            turn_conn.commit()
            return True
        finally:
            turn_conn.close()  # rolls back what was not committed

    def settle_failed(self, replies: list[Reply]) -> None:
        """After :class:`HandlerFailed`: record the message id, so a redelivery does not fail
        (and apologise) again, and stage ``replies`` (the apology) when the sink stages.

        Nothing of the failed turn is kept; this is a transaction of its own.
        """
        if self.message.message_id is None and not self.sink.stages:
            return
        with self.database.engine.begin() as conn:
            if self._claim(conn):
                self._stage(conn, replies)

    # -- claim and stage: the only two writes besides the handlers' -------------------------

    def _claim(self, conn: Connection) -> bool:
        """Record the message id as handled in this transaction; False for a redelivery."""
        message_id = self.message.message_id
        return message_id is None or self.store.claim_message(
            conn, message_id, self.message.user_id
        )

    def _stage(self, conn: Any, replies: list[Reply]) -> None:
        """Hand ``replies`` to a staging sink in this transaction (they commit together)."""
        if replies and self.sink.stages:
            self.sink.stage(conn, self.message.user_id, replies, self.channel)
            self.staged = True

    def _handled_before(self, conn: Any) -> bool:
        """Whether a redelivered message's id is recorded already, looked up before the
        sender action so a redelivery shows no typing indicator.

        Read on the turn's connection outside any transaction (no lock is held during the
        platform call); the claim inside the transaction still settles a race of deliveries.
        Skipped when the messenger makes no sender action: the claim alone suffices then.
        """
        message_id = self.message.message_id
        if message_id is None or not makes_sender_actions(self.messenger):
            return False
        return self.store.is_handled(conn, message_id)

    def _current_state(self, stored: str) -> str:
        """``stored``, or the initial state when the rules no longer have ``stored``."""
        if self.dispatcher.has_state(stored):
            return stored
        self.removed_state = stored
        log.warning(
            "user %s was in state %r, which the rules no longer have; "
            "moved to the initial state %r",
            self.message.user_id,
            stored,
            self.initial_state,
        )
        return self.initial_state

    def _attach_user(self, session: Any, state: str) -> Any:
        """The ORM user in ``state``, made persistent in ``session`` without another SELECT.

        Placed in the session's identity map as SQLAlchemy's own loader places a row it
        read (the turn read it through Core): no attach events and no session transaction
        until the ORM runs a statement (a lazy load, a flush), which then joins the turn's.
        ``Session.add`` would begin that transaction and walk the relationship cascades on
        every turn, for the few handlers that use the ORM.
        """
        mapper = self.database.user_class.__mapper__
        # A no-op once relationships added by the application are set up; unlike
        # configure_mappers() it does not gather every registry of the process first.
        mapper.registry.configure(cascade=True)
        user = mapper.class_manager.new_instance()
        values = user.__dict__  # a fresh instance: its committed values, as a load sets them
        values["id"] = self._user_key
        values["fb_id"] = self.message.user_id
        values["channel"] = self.channel
        values["state"] = state
        make_transient_to_detached(user)  # the primary key as identity, the rest expired
        instance = instance_state(user)
        instance.session_id = session.hash_key
        session.identity_map.add(instance)
        values["_turn"] = self
        return user

    def _run_handlers(self, user: Any) -> None:
        dispatcher = self.dispatcher
        if self.is_new_user or self.removed_state is not None:
            dispatcher.execute_pre_func(user)  # entering the initial state
        dispatcher.execute_func(user, self.message.text)
        dispatcher.execute_enter_func(user)
