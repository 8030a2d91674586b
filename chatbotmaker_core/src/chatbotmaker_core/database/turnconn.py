"""The turn's connection and transaction: SQLAlchemy's, or the driver's own with SQLAlchemy's
made only when the ORM asks for it.

A turn takes a connection from the pool, begins (``BEGIN IMMEDIATE`` on SQLite), runs a few
statements and commits. Through ``Engine.connect`` and ``Connection.begin`` the bookkeeping
around those steps (connection and transaction objects, event dispatch, logging checks) costs
a turn more than SQLite takes to begin and commit. :class:`DriverTurnConnection` therefore
does them on the pooled DBAPI connection itself, for the :class:`~.driver.DriverStore`
drivers, when nothing watches the engine (echo, cursor, transaction or connect listeners other
than our own ``BEGIN IMMEDIATE``), and no sink needs a ``Connection`` to stage replies on (the
queue stages on the driver's connection).
A handler using the ORM gets a ``Connection`` on the same pooled connection, inside the same
transaction (:meth:`DriverTurnConnection.sqlalchemy_connection`), made at that moment.
Everything else takes :class:`CoreTurnConnection`: ``Engine.connect``, ``Connection.begin``.

Internal module: used by :class:`~chatbotmaker_core.turn.Turn`.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Connection, Engine, exc

from .driver import DriverStore, UnwatchedConnection, dbapi_error, driver_error
from .sqlite import begin_immediate, is_ours


class TurnConnection(Protocol):
    """A turn's connection: ``store_conn`` is what the store's methods take."""

    store_conn: Any

    def sqlalchemy_connection(self) -> Connection:
        """A ``Connection`` in the turn's transaction (for the ORM session, the sink)."""
        ...

    def staging_connection(self, on_driver: bool) -> Any:
        """What a staging sink gets (``ReplySink.stages_on_driver``: see ``turn.py``)."""
        ...

    def begin(self) -> None: ...

    def commit(self) -> None: ...

    def close(self) -> None:
        """Roll back what was not committed; return the connection to the pool."""
        ...


class CoreTurnConnection:
    """``Engine.connect()`` and ``Connection.begin()``: any dialect and driver, watched or not."""

    def __init__(self, engine: Engine) -> None:
        self.store_conn = self._conn = engine.connect()
        self._transaction: Any = None

    def sqlalchemy_connection(self) -> Connection:
        return self._conn

    def staging_connection(self, on_driver: bool) -> Any:
        return self._conn

    def begin(self) -> None:
        self._transaction = self._conn.begin()

    def commit(self) -> None:
        self._transaction.commit()

    def close(self) -> None:
        self._conn.close()  # rolls back a transaction still open


class DriverTurnConnection(UnwatchedConnection):
    """The turn on the pooled DBAPI connection (pysqlite, psycopg), nothing watching.

    It offers what :class:`~.driver.DriverStore` and :func:`~.driver.driver_error` use of a
    ``Connection`` (``dialect``, ``connection``, ``invalidate``), so the store's statements
    and their errors behave as on the driver path of a ``Connection``.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        # The pool's checkout, as Engine.connect does it (pre-ping on PostgreSQL).
        self.connection_record: Any = checkout(engine)
        self.driver: Any = self.connection_record.driver_connection
        self.store_conn = self
        self._conn: Connection | None = None
        self._transaction: Any = None

    # -- what DriverStore and driver_error use of a Connection --------------------------

    @property
    def connection(self) -> Any:
        """The pooled connection (``.dbapi_connection``), as ``Connection.connection``."""
        return self.connection_record

    @property
    def invalidated(self) -> bool:
        return not self.connection_record.is_valid

    def invalidate(self, error: BaseException | None = None) -> None:
        self.connection_record.invalidate(error)

    # -- the turn -----------------------------------------------------------------------

    def begin(self) -> None:
        if self.dialect.name == "sqlite":
            begin_immediate(self.engine, self, self.driver)
        # psycopg begins a transaction with the first statement (autocommit off)

    def staging_connection(self, on_driver: bool) -> Any:
        """What a sink stages on: this connection itself when the sink uses only its driver
        connection (``conn.connection.driver_connection``), else a ``Connection``."""
        return self if on_driver else self.sqlalchemy_connection()

    def sqlalchemy_connection(self) -> Connection:
        """A ``Connection`` on this pooled connection, in the turn's transaction, made on the
        first call: its ``begin`` emits nothing, the transaction being open already."""
        if self._conn is None:
            conn = Connection(self.engine, connection=self.connection_record)
            self._transaction = conn.begin()  # SQLite: our listener sees the open transaction
            self._conn = conn
        return self._conn

    def commit(self) -> None:
        if self._transaction is not None:
            self._transaction.commit()
            return
        try:
            self.driver.commit()
        except dbapi_error(self) as error:  # type: ignore[arg-type]
            raise driver_error(self, "COMMIT", (), error) from error  # type: ignore[arg-type]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()  # rolls back a transaction still open; returns it to the pool
        else:
            self.connection_record.close()  # the pool's reset rolls back what is open


def checkout(engine: Engine) -> Any:
    """A pooled connection; a failure to connect raises as ``Engine.connect`` raises it (a
    :mod:`sqlalchemy.exc` error: a database outage, not a handler's bug)."""
    dialect = engine.dialect
    try:
        return engine.raw_connection()
    except dialect.loaded_dbapi.Error as error:
        raise exc.DBAPIError.instance(
            None,
            None,
            error,
            dialect.loaded_dbapi.Error,
            hide_parameters=engine.hide_parameters,
            connection_invalidated=dialect.is_disconnect(error, None, None),
            dialect=dialect,
        ) from error


def turn_connection(engine: Engine, store: Any, staging: bool) -> TurnConnection:
    """The turn's connection: the driver's own where :class:`DriverTurnConnection` applies."""
    if not staging and isinstance(store, DriverStore) and not engine_watched(engine):
        return DriverTurnConnection(engine)
    return CoreTurnConnection(engine)


def engine_watched(engine: Engine) -> bool:
    """True when something would miss what a :class:`DriverTurnConnection` skips: statement
    logging, cursor and error listeners, or listeners on connect, begin, commit, rollback
    (other than our own SQLite ``BEGIN IMMEDIATE``)."""
    dispatch = engine.dispatch
    return bool(
        engine._should_log_info()
        or dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
        or engine.dialect.dispatch.handle_error
        or dispatch.engine_connect
        or dispatch.commit
        or dispatch.rollback
        or not all(is_ours(listener) for listener in dispatch.begin)
    )
