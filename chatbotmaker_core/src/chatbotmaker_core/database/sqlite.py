"""SQLite settings: WAL, ``synchronous=NORMAL``, and write transactions from the start.

pysqlite's own transaction handling begins lazily, which lets two processes read the same user
and then both write. We take over: ``BEGIN IMMEDIATE`` makes every turn hold the write lock from
its first statement, so turns never interleave, even across processes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, event, exc

BUSY_TIMEOUT_MS = 30_000


def configure_sqlite(engine: Engine) -> None:
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    on_pysqlite = engine.dialect.driver == "pysqlite"

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if on_pysqlite and not statements_watched(connection):
            # The same statement without Connection.execute's bookkeeping: once per turn.
            dbapi_connection = connection.connection.dbapi_connection
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
            except dbapi_connection_error(connection) as error:
                raise driver_error(connection, "BEGIN IMMEDIATE", (), error) from error
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def statements_watched(conn: Connection) -> bool:
    """True when what runs on ``conn`` is logged (echo) or seen by SQLAlchemy's listeners.

    The turn's hot path runs its statements on the driver's connection only when nothing
    watches them (cursor-execute and error listeners), so logging and instrumentation keep
    seeing every statement.
    """
    dispatch = conn.dispatch
    return bool(
        getattr(conn, "_echo", True)
        or dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
        or conn.dialect.dispatch.handle_error
    )


def dbapi_connection_error(conn: Connection) -> type[Exception]:
    """The driver's base exception class (``sqlite3.Error``)."""
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
