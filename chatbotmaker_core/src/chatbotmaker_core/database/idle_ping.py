"""A cheaper pre-ping for psycopg: a pooled connection with nothing to read is alive.

SQLAlchemy's ``pool_pre_ping`` sends ``SELECT 1`` at every checkout. On PostgreSQL that is a
round trip per turn: about 7% of a turn's CPU, the client's and the server's together
(``docs/decisions.md``, "The turn: closer to raw sqlite3"). A server that stops or restarts
(``pg_ctl``, a crash, ``idle_session_timeout``, ``pg_terminate_backend``) writes an error to
each session it ends and closes the socket, so a connection it cut while idle in the pool has
something to read at once. Only then is the real ping made, and it decides as before. A healthy
idle connection has nothing to read (none of ours listens for notifications).

What this does not see, the real ping would often not see either: a connection cut silently (a
network partition, no FIN) fails the turn's first statement, as after a ping that passed a
moment too early; the turn then fails as a database error and the platform delivers again.

Internal module: installed by :class:`~chatbotmaker_core.database.Database` on psycopg engines
that pre-ping.
"""

from __future__ import annotations

import select
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine


def install(engine: Engine) -> None:
    """Make ``engine``'s pre-ping skip the round trip for a quiet connection (psycopg only)."""
    dialect = engine.dialect
    # ``_pre_ping``: whether the pool pings at all (``pool_pre_ping``), as SQLAlchemy keeps it
    if dialect.driver != "psycopg" or not getattr(engine.pool, "_pre_ping", False):
        return
    dialect.do_ping = quiet_or(dialect.do_ping)  # type: ignore[method-assign,assignment]


def quiet_or(ping: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """``ping`` made only when the connection is not :func:`quiet`."""

    def do_ping(dbapi_connection: Any) -> bool:
        return quiet(dbapi_connection) or ping(dbapi_connection)

    return do_ping


def quiet(dbapi_connection: Any) -> bool:
    """True when the psycopg connection is open, outside a transaction, and has no byte
    waiting on its socket; False when in doubt (then the real ping decides)."""
    from psycopg import pq

    try:
        pgconn = dbapi_connection.pgconn
        if pgconn.status != pq.ConnStatus.OK:
            return False
        if pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return False
        return not readable(pgconn.socket)
    except Exception:  # noqa: BLE001 - a closed connection, an odd socket: ping for real
        return False


def readable(fd: int) -> bool:
    """Whether ``fd`` has data or an end of file to read, without waiting."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)
