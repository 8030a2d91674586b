"""SQLite settings: WAL, ``synchronous=NORMAL``, and write transactions from the start.

pysqlite's own transaction handling begins lazily, which lets two processes read the same user
and then both write. We take over: ``BEGIN IMMEDIATE`` makes every turn hold the write lock from
its first statement, so turns never interleave, even across processes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, event

from .driver import dbapi_error, driver_error, statements_watched

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
            except dbapi_error(connection) as error:
                raise driver_error(connection, "BEGIN IMMEDIATE", (), error) from error
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
