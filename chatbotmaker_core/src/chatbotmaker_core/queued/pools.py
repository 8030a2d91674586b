"""The connection pools of queued mode: procrastinate's, without its check of every connection
taken from them (a round trip each time, ``docs/performance.md``), and how a query failing on
a connection that a restart broke is told from the database being down."""

from __future__ import annotations

from typing import Any


def pool_without_check(**options: Any) -> Any:
    """procrastinate's worker pool, without its check of every connection taken from it.

    That check is a round trip to PostgreSQL before each of the two queries a job costs
    (fetch, finish), a fifth of a worker's time per event (``docs/performance.md``). A
    connection broken by a restart fails its query instead, the pool counts it as returned
    bad, and the worker's supervisor restarts the procrastinate worker (``worker.py``).
    """
    from psycopg_pool import AsyncConnectionPool

    return AsyncConnectionPool(**{**options, "check": None})


def unchecked_sync_connector(procrastinate: Any) -> Any:
    """procrastinate's synchronous connector (the webhook's), its pool without the check of
    every connection taken from it: that round trip was a third of the webhook's enqueue
    (``docs/performance.md``). :meth:`Queue.enqueue` tries again once when a connection a
    restart broke fails its query; the pool drops such a connection when it comes back."""
    from psycopg_pool import ConnectionPool

    class UncheckedSyncConnector(procrastinate.SyncPsycopgConnector):
        @staticmethod
        def _create_pool(pool_args: dict[str, Any]) -> Any:
            return ConnectionPool(**pool_args, open=False, check=None)

    return UncheckedSyncConnector


def connection_broke(error: BaseException) -> bool:
    """Whether ``error`` is a query failing on a broken connection (not a pool timeout: the
    database is down, and a second wait would outlast Meta's patience)."""
    import psycopg
    from psycopg_pool import PoolTimeout

    cause = error.__cause__ or error
    return isinstance(cause, psycopg.OperationalError) and not isinstance(cause, PoolTimeout)
