"""Shared fixtures.

Databases:

- ``postgres_server`` (session): a :class:`postgres.PostgresServer`, started once from the
  machine's PostgreSQL binaries, or the server at ``$CHATBOTMAKER_TEST_POSTGRES_URL``. Without
  binaries the PostgreSQL tests are skipped, except under CI (``$CI`` set), where they fail.
- ``db_url``: a fresh, empty database URL per test, once for ``sqlite`` and once for
  ``postgresql`` (marked ``postgres``; deselect with ``-m "not postgres"``).
- ``sqlite_url``: the SQLite file only, for tests that need no PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from postgres import PostgresServer, PostgresUnavailable, connect_postgres, start_postgres

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
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"test_{uuid.uuid4().hex[:20]}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        server.drop_database(name)
