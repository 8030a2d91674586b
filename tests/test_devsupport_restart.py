"""``PostgresServer.restart()`` leaves the server running even when ``pg_ctl restart`` fails.

The chaos run restarts PostgreSQL under load; a restart whose ``pg_ctl`` gave up (a slow
shutdown or start on a loaded machine) once left the server down and the run stalled until its
deadlines. Here ``pg_ctl`` fails for real: a stand-in for it in a copy of the binaries folder
stops the server and then exits 1, as a restart whose start failed does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from devsupport.postgres import PostgresServer, find_postgres_bindir, start_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(find_postgres_bindir() is None, reason="no PostgreSQL binaries"),
]

FAILING_RESTART = """#!/bin/sh
# pg_ctl, except that `restart` stops the server and then fails, as a start that failed does
if [ "$1" = restart ]; then
    shift
    "{real}" stop "$@"
    echo "pg_ctl: could not start server (a stand-in failure)" >&2
    exit 1
fi
exec "{real}" "$@"
"""


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


def _failing_bindir(server: PostgresServer) -> Path:
    """A folder with the real binaries, but a ``pg_ctl`` whose restart fails."""
    assert server.root is not None and server.bindir is not None
    folder = server.root / "bin"  # the server's own folder: its user can run what is in it
    folder.mkdir()
    for exe in server.bindir.iterdir():
        if exe.name != "pg_ctl":
            (folder / exe.name).symlink_to(exe)
    script = folder / "pg_ctl"
    script.write_text(FAILING_RESTART.format(real=server.bindir / "pg_ctl"))
    script.chmod(0o755)
    folder.chmod(0o755)
    return folder


def _answer(url: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT 42")).scalar_one())
    finally:
        engine.dispose()


def test_a_restart_whose_pg_ctl_fails_still_leaves_the_server_accepting_connections(
    server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.bindir = _failing_bindir(server)
    with caplog.at_level(logging.WARNING, logger="devsupport.postgres"):
        server.restart()
    assert _answer(server.url) == 42
    said = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("PostgreSQL restart: pg_ctl restart failed") for m in said), said
    assert any("PostgreSQL is accepting connections again" in m for m in said), said


def test_ensure_running_starts_a_server_that_was_left_down(server: PostgresServer) -> None:
    server._pg_ctl("stop", "-m", "immediate")
    server.ensure_running()
    assert _answer(server.url) == 42
