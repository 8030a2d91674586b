"""SQLite settings: WAL, ``synchronous=NORMAL``, and write transactions from the start.

pysqlite's own transaction handling begins lazily, which lets two processes read the same user
and then both write. We take over: ``BEGIN IMMEDIATE`` makes every turn hold the write lock from
its first statement, so turns never interleave, even across processes.

The wait for that lock is bounded (``busy_timeout``, 3 s by default) well under the 20 s Meta
gives an inline webhook: a turn that cannot get the lock in time fails as a database error
(the webhook answers 5xx and Meta delivers again later), having handled nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, Engine, event, exc

from .driver import dbapi_error, driver_error, statements_watched

#: seconds a turn waits for SQLite's write lock: with ``[bot] send_deadline`` (15 s) within
#: Meta's 20 s (a failed reply is recorded after the deadline, which may wait once more)
BUSY_TIMEOUT = 3.0

log = logging.getLogger(__name__)


def configure_sqlite(engine: Engine, busy_timeout: float = BUSY_TIMEOUT) -> None:
    """Set up ``engine``'s connections; ``busy_timeout``: seconds to wait for a lock."""
    busy_timeout_ms = round(busy_timeout * 1000)
    engine.dialect._chatbotmaker_busy_timeout = busy_timeout  # type: ignore[attr-defined]
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    on_pysqlite = engine.dialect.driver == "pysqlite"

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if on_pysqlite:
            dbapi_connection = connection.connection.dbapi_connection
            assert dbapi_connection is not None  # a connection in a transaction is live
            if dbapi_connection.in_transaction:
                return  # a turn's own connection, begun already (turnconn.py)
            if not statements_watched(connection):
                # The same statement without Connection.execute's bookkeeping: once per turn.
                begin_immediate(engine, connection, dbapi_connection)
                return
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except exc.OperationalError as error:
            log_lock_timeout(engine, error)
            raise

    _on_begin._chatbotmaker = True  # type: ignore[attr-defined]


def is_ours(listener: Any) -> bool:
    """Whether an engine's ``begin`` listener is our ``BEGIN IMMEDIATE``."""
    return getattr(listener, "_chatbotmaker", False)


def begin_immediate(engine: Engine, connection: Any, dbapi_connection: Any) -> None:
    """``BEGIN IMMEDIATE`` on the pysqlite connection of ``connection`` (a ``Connection`` or
    a turn's own, ``turnconn.py``); a driver error raises as SQLAlchemy's."""
    try:
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
        except dbapi_error(connection) as error:
            raise driver_error(connection, "BEGIN IMMEDIATE", (), error) from error
    except exc.OperationalError as error:
        log_lock_timeout(engine, error)
        raise


def log_lock_timeout(engine: Engine, error: exc.OperationalError) -> None:
    if "locked" in str(error.orig) or "busy" in str(error.orig):
        log.error(
            "SQLite database %s stayed locked for %gs ([database] busy_timeout): another "
            "connection holds a long write transaction; nothing was done (a webhook "
            "answers 5xx and Meta delivers the event again)",
            engine.url.database,
            engine.dialect._chatbotmaker_busy_timeout,  # type: ignore[attr-defined]
        )
