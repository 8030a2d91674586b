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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

#: ``(dialect name, driver)`` pairs whose DBAPI connection has an ``execute`` shortcut
FAST_DRIVERS = {("sqlite", "pysqlite"), ("postgresql", "psycopg")}


def has_fast_path(dialect: Dialect) -> bool:
    return (dialect.name, dialect.driver) in FAST_DRIVERS


class DriverStatement:
    """A statement compiled once for ``dialect``, run with the driver's own parameters."""

    __slots__ = ("sql", "_pick", "_processors")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        positional = tuple(compiled.positiontup or ())
        names = positional or tuple(compiled.bind_names.values())
        processors = []
        for index, name in enumerate(names):
            process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
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
    disconnect = dialect.is_disconnect(error, conn.connection.dbapi_connection, None)
    if disconnect and not conn.invalidated:
        conn.invalidate(error)
    return exc.DBAPIError.instance(
        statement,
        params,
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=disconnect,
        dialect=dialect,
    )
