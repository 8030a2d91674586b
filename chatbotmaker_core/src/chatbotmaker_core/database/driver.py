"""Statements compiled once by SQLAlchemy and run on the driver's own connection.

``Connection.execute`` costs several times what SQLite or PostgreSQL take to run the turn's
few small statements (parameter processing, cursor wrapping, result metadata, events). The
turn's hot path therefore runs them on the DBAPI connection, inside the turn's transaction,
for the two drivers we know: ``pysqlite`` (qmark, a positional tuple) and ``psycopg``
(pyformat, a dict). Bind values still go through the column types' processors (JSON,
DateTime), and driver errors are raised as the matching ``sqlalchemy.exc`` errors, the
connection invalidated when the error says it is unusable, exactly as ``Connection.execute``
would. When anything watches the statements (``echo``, or a ``before_cursor_execute``,
``after_cursor_execute`` or ``handle_error`` listener), callers use ``Connection.execute``
instead, so logging and instrumentation see every statement.

Internal module: :class:`DriverStore` is picked by ``Database`` (``database/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

from .statements import Statements
from .store import Store, UserRow, new_user_params, now

#: ``(dialect name, driver)`` pairs whose DBAPI connection has an ``execute`` shortcut
FAST_DRIVERS = {("sqlite", "pysqlite"), ("postgresql", "psycopg")}


def has_fast_path(dialect: Dialect) -> bool:
    return (dialect.name, dialect.driver) in FAST_DRIVERS


class DriverStatement:
    """A statement compiled once for ``dialect``, run with the driver's own parameters."""

    __slots__ = ("sql", "_pick", "_processors")

    def __init__(
        self,
        statement: ClauseElement,
        dialect: Dialect,
        shared: dict[str, Callable[[Any], Any]] | None = None,
    ) -> None:
        """``shared``: a processor per bind name, the same for every statement given it."""
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))  # a DML statement
        self.sql = compiled.string
        positional = tuple(compiled.positiontup or ())
        names = positional or tuple(compiled.bind_names.values())
        processors = []
        for index, name in enumerate(names):
            process: Callable[[Any], Any] | None
            process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None and shared is not None and name in shared:
                process = shared[name]
            if process is not None:
                processors.append((index if positional else name, process))
        self._processors = tuple(processors)
        if not positional:  # pyformat: a dict of the statement's own names
            self._pick: Callable[[Mapping[str, Any]], Any] = lambda params: {
                name: params[name] for name in names
            }
        elif len(names) == 1:
            (name,) = names
            self._pick = lambda params: [params[name]]
        else:
            get = itemgetter(*names)
            self._pick = lambda params: list(get(params))

    def run(self, conn: Connection, dbapi_connection: Any, params: Mapping[str, Any]) -> Any:
        """Execute on ``dbapi_connection`` (``conn``'s); driver errors raise as SQLAlchemy's."""
        values = self._pick(params)
        for key, process in self._processors:
            values[key] = process(values[key])
        try:
            return dbapi_connection.execute(self.sql, values)
        except dbapi_error(conn) as error:
            raise driver_error(conn, self.sql, values, error) from error

    def first(self, conn: Connection, dbapi_connection: Any, params: Mapping[str, Any]) -> Any:
        """The first row (or None), the cursor closed: no statement stays open until COMMIT."""
        cursor = self.run(conn, dbapi_connection, params)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()


class UnwatchedConnection:
    """A turn's own DBAPI connection that nothing watches (``turnconn.py`` decides): the
    store runs its statements on ``driver`` without asking again."""

    driver: Any


def remember_last(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process`` that returns its last result again when given the same object again.

    A turn stamps its claim, its user and its state change with one time (``at``): the
    DateTime processor, which formats the text SQLite stores, then runs once per turn.
    """
    last: tuple[Any, Any] = (object(), None)  # replaced whole: threads may share it

    def run(value: Any) -> Any:
        nonlocal last
        given, result = last
        if value is given:
            return result
        result = process(value)
        last = (value, result)
        return result

    return run


def statements_watched(conn: Connection) -> bool:
    """True when what runs on ``conn`` is logged (echo) or seen by SQLAlchemy's listeners."""
    dispatch = conn.dispatch
    return bool(
        getattr(conn, "_echo", True)
        or dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
        or conn.dialect.dispatch.handle_error
    )


def dbapi_error(conn: Connection) -> type[Exception]:
    """The driver's base exception class (``sqlite3.Error``, ``psycopg.Error``)."""
    return conn.dialect.loaded_dbapi.Error


def driver_error(conn: Connection, statement: str, params: Any, error: Exception) -> exc.DBAPIError:
    """``error``, raised by the driver, as ``Connection.execute`` would have raised it.

    Wrapped in the matching :mod:`sqlalchemy.exc` class (``OperationalError``,
    ``IntegrityError``...), and the connection invalidated when the error says it is unusable,
    so callers tell a database outage from a handler's bug the same way on either path.
    """
    dialect = conn.dialect
    # ``error`` is an instance of the driver's Error class (caught by ``dbapi_error``).
    disconnect = dialect.is_disconnect(error, conn.connection.dbapi_connection, None)  # type: ignore[arg-type]
    if disconnect and not conn.invalidated:
        conn.invalidate(error)
    # A driver error: instance() returns the matching DBAPIError subclass.
    return exc.DBAPIError.instance(  # type: ignore[return-value]
        statement,
        params,
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=disconnect,
        dialect=dialect,
    )


class DriverStore:
    """The turn's statements on pysqlite or psycopg, run on the driver's connection.

    A connection whose statements something watches (echo, listeners) goes through
    ``watched`` instead (an :class:`~.store.UpsertStore`), so logging and instrumentation
    see every statement. Whether it is watched is decided once per ``Connection`` (a turn):
    the last answer is kept with the connection it was for.
    """

    def __init__(self, statements: Statements, dialect: Dialect, watched: Store) -> None:
        self.watched = watched
        self._postgresql = dialect.name == "postgresql"

        # ``at``, the turn's time in every statement stamping it: DateTime(timezone=True)
        at_type = statements.set_state.table.c.last_message_at.type  # type: ignore[attr-defined]
        at_process = at_type.dialect_impl(dialect).bind_processor(dialect)
        shared = {"at": remember_last(at_process)} if at_process is not None else {}

        def prebuilt(statement: Executable | None) -> DriverStatement:
            assert statement is not None
            return DriverStatement(statement, dialect, shared)  # type: ignore[arg-type]

        # pysqlite and psycopg count the row an INSERT ... ON CONFLICT DO NOTHING inserted
        # exactly: no RETURNING row to fetch
        self._claim = prebuilt(statements.upsert_claim_counted)
        self._is_handled = prebuilt(statements.is_handled)
        self._lock_user = prebuilt(statements.lock_user)
        self._insert_user = prebuilt(statements.upsert_user)
        self._get_argument = prebuilt(statements.get_argument)
        self._upsert_argument = prebuilt(statements.upsert_argument)
        self._set_state = prebuilt(statements.set_state)
        self._insert_transition = prebuilt(statements.insert_transition)
        value_type = statements.get_argument.selected_columns[0].type  # type: ignore[attr-defined]
        self._decode_value = value_type.dialect_impl(dialect).result_processor(dialect, None)
        self._last: tuple[Connection | None, bool] = (None, True)
        self._time: tuple[Connection | None, Any] = (None, None)

    def _turn_time(self, conn: Connection) -> Any:
        """One time for the statements of a turn (``conn``): the claim, a new user's row,
        the state change and its transitions are stamped alike."""
        last_conn, at = self._time
        if last_conn is not conn:
            at = now()
            self._time = (conn, at)
        return at

    def _driver(self, conn: Connection) -> Any:
        """The DBAPI connection to run prebuilt statements on, or None when watched."""
        if isinstance(conn, UnwatchedConnection):
            return conn.driver
        last_conn, watched = self._last
        if last_conn is not conn:
            watched = statements_watched(conn)
            self._last = (conn, watched)
        return None if watched else conn.connection.dbapi_connection

    def claim_message(self, conn: Connection, message_id: str, platform_id: str) -> bool:
        driver = self._driver(conn)
        if driver is None:
            return self.watched.claim_message(conn, message_id, platform_id)
        params = {"mid": message_id, "at": self._turn_time(conn), "platform_id": platform_id}
        cursor = self._claim.run(conn, driver, params)
        claimed = cursor.rowcount == 1
        cursor.close()
        return claimed

    def is_handled(self, conn: Connection, message_id: str) -> bool:
        driver = self._driver(conn)
        if driver is None:
            return self.watched.is_handled(conn, message_id)
        params = {"mid": message_id}
        if not self._postgresql or driver.autocommit:
            return self._is_handled.first(conn, driver, params) is not None
        driver.autocommit = True  # psycopg: client-side, no round trip
        try:
            return self._is_handled.first(conn, driver, params) is not None
        finally:
            driver.autocommit = False

    def lock_user(
        self, conn: Connection, channel: str, platform_id: str, initial_state: str
    ) -> tuple[UserRow, bool]:
        driver = self._driver(conn)
        if driver is None:
            return self.watched.lock_user(conn, channel, platform_id, initial_state)
        params = new_user_params(channel, platform_id, initial_state)
        params["at"] = self._turn_time(conn)
        row = self._lock_user.first(conn, driver, params)
        if row is not None:
            return UserRow(*row), False
        inserted = self._insert_user.first(conn, driver, params)
        if inserted is not None:  # our own new row: no other transaction can see it yet
            return UserRow(*inserted), True
        return UserRow(*self._lock_user.first(conn, driver, params)), False

    def get_argument(self, conn: Connection, user_key: int, name: str) -> tuple[bool, Any]:
        driver = self._driver(conn)
        if driver is None:
            return self.watched.get_argument(conn, user_key, name)
        row = self._get_argument.first(conn, driver, {"uid": user_key, "key": name})
        if row is None:
            return False, None
        decode = self._decode_value
        return True, row[0] if decode is None else decode(row[0])

    def store_argument(self, conn: Connection, user_key: int, name: str, value: Any) -> None:
        driver = self._driver(conn)
        if driver is None:
            return self.watched.store_argument(conn, user_key, name, value)
        self._upsert_argument.run(conn, driver, {"uid": user_key, "key": name, "val": value})
        return None

    def set_state(self, conn: Connection, user_key: int, state: str) -> None:
        driver = self._driver(conn)
        if driver is None:
            return self.watched.set_state(conn, user_key, state)
        params = {"uid": user_key, "new": state, "at": self._turn_time(conn)}
        self._set_state.run(conn, driver, params)
        return None

    def record_transitions(
        self, conn: Connection, platform_id: str, changes: list[tuple[str | None, str]]
    ) -> None:
        driver = self._driver(conn)
        if driver is None:
            return self.watched.record_transitions(conn, platform_id, changes)
        at = self._turn_time(conn)
        for source, target in changes:  # one row in almost every turn that changes state
            params = {"platform_id": platform_id, "from": source, "to": target, "at": at}
            self._insert_transition.run(conn, driver, params).close()
        return None
