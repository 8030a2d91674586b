"""Bringing a throwaway PostgreSQL server (:mod:`devsupport.postgres`) back when ``pg_ctl``
fails: the chaos run restarts the server under load, and a ``pg_ctl restart`` that gives up (a
shutdown or a start slower than its timeout on a loaded machine, a start that fails) must not
leave the server down for the rest of the run. What happens is logged as warnings on the
``devsupport.postgres`` logger, so that a run's output says why it was slow.
"""

from __future__ import annotations

import logging
import subprocess
import time
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from devsupport.postgres import PostgresServer

log = logging.getLogger("devsupport.postgres")

#: ``pg_ctl`` failures: a non-zero exit, or no exit within ``_run``'s timeout
PG_CTL_ERRORS = (subprocess.CalledProcessError, subprocess.TimeoutExpired)


def accepts_connections(url: str) -> bool:
    """Whether the server at ``url`` answers ``SELECT 1`` now (within a few seconds)."""
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - refused, starting up, shutting down: all "not now"
        return False
    finally:
        engine.dispose()


def wait_accepting(url: str, seconds: float) -> bool:
    """Whether the server at ``url`` accepts connections within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not accepts_connections(url):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)
    return True


def describe(error: BaseException) -> str:
    """One line for a failed ``pg_ctl``: its exit status and the first line it printed."""
    if isinstance(error, subprocess.TimeoutExpired):
        return f"no answer within {error.timeout:.0f} s"
    if isinstance(error, subprocess.CalledProcessError):
        said = (error.stderr or error.output or "").strip().splitlines()
        return f"exit status {error.returncode}" + (f": {said[0]}" if said else "")
    return f"{type(error).__name__}: {error}"


def bring_up(server: PostgresServer, *, attempts: int = 3, grace: float = 20.0) -> None:
    """Make sure the owned ``server`` runs and accepts connections.

    A server that runs but does not answer within ``grace`` seconds (stuck half-way through a
    shutdown or a start) is stopped at once (``-m immediate``); then ``pg_ctl start`` up to
    ``attempts`` times. Raises :class:`RuntimeError` with the end of the server's log when it
    cannot be brought back.
    """
    if accepts_connections(server.url):
        return
    if server.is_running():
        if wait_accepting(server.url, grace):
            return
        log.warning(
            "PostgreSQL runs but accepts no connection after %.0f s; stopping it at once", grace
        )
        server._pg_ctl("stop", "-m", "immediate", check=False)
    for attempt in range(1, attempts + 1):
        try:
            server._pg_ctl("start")
        except PG_CTL_ERRORS as error:
            log.warning(
                "PostgreSQL start, attempt %d of %d, failed (%s)",
                attempt,
                attempts,
                describe(error),
            )
            server._pg_ctl("stop", "-m", "immediate", check=False)  # in case it is half up
            time.sleep(1.0)
            continue
        if wait_accepting(server.url, grace):
            log.warning("PostgreSQL is accepting connections again (start attempt %d)", attempt)
            return
    port = make_url(server.url).port
    raise RuntimeError(
        f"PostgreSQL on port {port} could not be started again after {attempts} attempts; "
        f"see its log {server.log_path}:\n{log_tail(server)}"
    )


def log_tail(server: PostgresServer, lines: int = 20) -> str:
    """The last ``lines`` lines of the server's log (empty for an external server)."""
    path = server.log_path
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
