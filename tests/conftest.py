"""Shared fixtures.

Databases:

- ``postgres_server`` (session): a :class:`postgres.PostgresServer`, started once from the
  machine's PostgreSQL binaries, or the server at ``$CHATBOTMAKER_TEST_POSTGRES_URL``. Without
  binaries the PostgreSQL tests are skipped, except under CI (``$CI`` set), where they fail.
- ``db_url``: a fresh, empty database URL per test, once for ``sqlite`` and once for
  ``postgresql`` (marked ``postgres``; deselect with ``-m "not postgres"``).
- ``sqlite_url``: the SQLite file only, for tests that need no PostgreSQL.
- ``pg_url``: a fresh, empty database on the test server only, for PostgreSQL-only tests.

The throwaway server itself is :mod:`devsupport.postgres` (shared with the benchmarks); the
suite's own helpers are in :mod:`tests.support`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from devsupport.postgres import (
    PostgresServer,
    PostgresUnavailable,
    connect_postgres,
    start_postgres,
)

POSTGRES_URL_VARIABLE = "CHATBOTMAKER_TEST_POSTGRES_URL"


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server of the test session (see the module docstring)."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if url:
        yield connect_postgres(url)
        return
    try:
        import psycopg  # noqa: F401 - the driver of every postgresql+psycopg URL

        server = start_postgres()
    except (ImportError, PostgresUnavailable) as error:
        reason = f"PostgreSQL tests need a server: {error} (or set {POSTGRES_URL_VARIABLE})"
        if _under_ci():
            pytest.fail(f"{reason}; under CI they must run", pytrace=False)
        pytest.skip(reason)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """The URL of a new SQLite file in the test's temporary folder."""
    return f"sqlite:///{tmp_path}/bot.db"


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, or a new database on the test server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/bot.db"
        return
    yield from _fresh_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database on the test session's PostgreSQL server."""
    yield from _fresh_database(postgres_server)


def _fresh_database(server: PostgresServer) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:20]}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        server.drop_database(name)
