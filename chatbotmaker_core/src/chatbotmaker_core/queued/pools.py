"""The webhook's connection pool in queued mode, without a check of every connection taken
from it (a round trip each time: a third of the webhook's enqueue, ``docs/performance.md``),
and how a query failing on a connection that a restart broke is told from the database being
down."""

from __future__ import annotations

from typing import Any


def unchecked_pool(conninfo: str, *, max_size: int, timeout: float) -> Any:
    """An open pool of autocommit connections that are not checked when taken.

    :meth:`Queue.enqueue` tries again once when a connection a restart broke fails its query;
    the pool drops such a connection when it comes back."""
    from psycopg_pool import ConnectionPool

    pool = ConnectionPool(
        conninfo,
        min_size=1,
        max_size=max_size,
        timeout=timeout,
        kwargs={"autocommit": True},
        check=None,
        open=False,
    )
    pool.open()
    return pool


def connection_broke(error: BaseException) -> bool:
    """Whether ``error`` is a query failing on a broken connection (not a pool timeout: the
    database is down, and a second wait would outlast Meta's patience)."""
    import psycopg
    from psycopg_pool import PoolTimeout

    cause = error.__cause__ or error
    return isinstance(cause, psycopg.OperationalError) and not isinstance(cause, PoolTimeout)


def is_connection_error(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is the database being out of reach: a connection
    refused or cut, a server shutting down, no connection to be had from a pool. Not a query
    cancelled or a lock not available: an event can cause those every time it runs."""
    import psycopg
    from sqlalchemy import exc

    seen: BaseException | None = error
    for _ in range(10):  # a chain of causes, never a cycle
        if seen is None:
            return False
        if isinstance(seen, psycopg.errors.QueryCanceled | psycopg.errors.LockNotAvailable):
            return False
        if isinstance(seen, psycopg.OperationalError | psycopg.InterfaceError):
            return True
        if isinstance(seen, exc.DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, exc.TimeoutError):  # SQLAlchemy's pool had no connection to give
            return True
        seen = seen.__cause__ or seen.__context__
    return False
