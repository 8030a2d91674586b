"""A throwaway PostgreSQL server for tests and benchmarks.

``start_postgres()`` runs ``initdb`` and ``pg_ctl`` from the machine's own PostgreSQL binaries
into a temporary folder: listening on 127.0.0.1 only, on a free port, its unix socket inside
that folder, trust authentication, ``fsync=off``. ``connect_postgres(url)`` wraps a server that
is already running instead. Both give a :class:`PostgresServer`::

    server = start_postgres()
    url = server.create_database("bench")   # postgresql+psycopg://postgres@127.0.0.1:PORT/bench
    ...
    server.stop()                           # also at interpreter exit, if forgotten

``initdb`` and ``pg_ctl`` refuse to run as root. As root, the folder is handed to an existing
unprivileged user (``$CHATBOTMAKER_PG_USER``, else ``nobody``) and both run as that user; no
user is ever created here (``.ci/run`` creates one beforehand when it runs as root).
"""

from __future__ import annotations

import atexit
import glob
import logging
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from devsupport.net import free_port
from devsupport.postgres_up import PG_CTL_ERRORS, bring_up, describe, wait_accepting

__all__ = [
    "PostgresServer",
    "PostgresUnavailable",
    "connect_postgres",
    "find_postgres_bindir",
    "start_postgres",
]

DRIVER = "postgresql+psycopg"
SUPERUSER = "postgres"
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "200",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "64MB",
    "log_min_messages": "warning",
}
#: the existing unprivileged user to run the server as when the caller is root
USER_VARIABLE = "CHATBOTMAKER_PG_USER"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
log = logging.getLogger(__name__)


class PostgresUnavailable(RuntimeError):
    """This machine cannot run a throwaway server (no binaries, no unprivileged user)."""


def find_postgres_bindir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, newest version first.

    Looks at ``$PG_BINDIR``, then ``PATH``, then the Debian and RHEL install locations.
    """
    candidates = [os.environ.get("PG_BINDIR", "")]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"):
        candidates += sorted(glob.glob(pattern), key=_version_key, reverse=True)
    for folder in candidates:
        if folder and all(os.access(Path(folder, exe), os.X_OK) for exe in ("initdb", "pg_ctl")):
            return Path(folder)
    return None


def _version_key(folder: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", folder))


class PostgresServer:
    """A PostgreSQL server at :attr:`url`, reachable as superuser ``postgres``.

    Built by :func:`start_postgres` (owned: ``restart`` and ``stop`` control it) or by
    :func:`connect_postgres` (external: ``stop`` only forgets it).
    """

    def __init__(
        self,
        url: str,
        *,
        bindir: Path | None = None,
        root: Path | None = None,
        run_as: str | None = None,
    ) -> None:
        #: the SQLAlchemy URL of the server's maintenance database
        self.url = url
        self.bindir = bindir
        self.root = root  # the temporary folder: data/, socket/, server.log
        self.run_as = run_as
        self._running = root is not None

    @property
    def owned(self) -> bool:
        """True when this process started the server (and will delete it)."""
        return self.root is not None

    @property
    def log_path(self) -> Path | None:
        return None if self.root is None else self.root / "server.log"

    def url_for(self, name: str) -> str:
        """The URL of database ``name`` on this server."""
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def create_database(self, name: str) -> str:
        """``CREATE DATABASE name``; returns its URL."""
        self.execute(f'CREATE DATABASE "{_check_name(name)}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, ending the sessions still connected to it."""
        _check_name(name)
        self.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()",
            name=name,
        )
        self.execute(f'DROP DATABASE IF EXISTS "{name}"')

    def execute(self, sql: str, **params: object) -> None:
        """Run one statement in autocommit mode on the maintenance database."""
        engine = create_engine(self.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(sql), params)
        finally:
            engine.dispose()

    def restart(self) -> None:
        """Stop the server (fast: every session is cut) and start it again, same port.

        When ``pg_ctl restart`` fails (a shutdown or start slower than its timeout on a loaded
        machine, a start that fails), the server is brought back all the same
        (:meth:`ensure_running`) and a warning says what happened: a caller must never be left
        with a server that is down. Raises only when it cannot be started again.
        """
        self._require_owned("restart")
        try:
            self._pg_ctl("restart", "-m", "fast")
        except PG_CTL_ERRORS as error:
            log.warning(
                "PostgreSQL restart: pg_ctl restart failed (%s); making sure the server runs",
                describe(error),
            )
            bring_up(self)

    def ensure_running(self, seconds: float = 60.0) -> None:
        """Return once the server accepts connections: an owned server that is down or stuck
        is started again (``devsupport.postgres_up.bring_up``); for an external one, wait up
        to ``seconds``. Raises :class:`RuntimeError` when it cannot be reached."""
        if self.owned:
            if not self._running:
                raise RuntimeError(f"cannot start {self!r} again: it was stopped for good")
            bring_up(self)
        elif not wait_accepting(self.url, seconds):
            raise RuntimeError(f"{self!r} accepts no connection after {seconds:.0f} s")

    def is_running(self) -> bool:
        """Whether the owned server's process runs (``pg_ctl status``), answering or not."""
        self._require_owned("check")
        return self._pg_ctl("status", check=False).returncode == 0

    def stop(self) -> None:
        """Stop the server at once and delete its folder. Safe to call twice."""
        if self.root is None or not self._running:
            return
        self._running = False
        try:
            self._pg_ctl("stop", "-m", "immediate", check=False)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        kind = "owned" if self.owned else "external"
        return f"<PostgresServer {kind} {make_url(self.url).render_as_string()}>"

    # -- running the binaries -----------------------------------------------------------------

    def _require_owned(self, action: str) -> None:
        if not self.owned:
            raise RuntimeError(f"cannot {action} an external server ({self!r})")

    def _pg_ctl(
        self, action: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        assert self.root is not None and self.bindir is not None
        return _run(
            [
                str(self.bindir / "pg_ctl"),
                action,
                "-D", str(self.root / "data"),
                "-l", str(self.log_path),
                "-w", "-t", "60",
                *args,
            ],
            run_as=self.run_as,
            cwd=self.root,
            check=check,
            log_path=self.log_path,
        )  # fmt: skip


def connect_postgres(url: str) -> PostgresServer:
    """A :class:`PostgresServer` for a server that is already running at ``url``.

    ``url`` is a SQLAlchemy URL whose user may create and drop databases.
    """
    return PostgresServer(url)


def start_postgres(
    *, bindir: Path | None = None, settings: dict[str, str] | None = None
) -> PostgresServer:
    """Initialise and start a new cluster; returns its :class:`PostgresServer`.

    ``settings`` override or extend :data:`SETTINGS` (values are written to postgresql.conf
    as given, so strings need their single quotes). Raises :class:`PostgresUnavailable` when
    the binaries, or an unprivileged user to run them as root, cannot be found.
    """
    bindir = bindir or find_postgres_bindir()
    if bindir is None:
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH, in $PG_BINDIR or "
            "in /usr/lib/postgresql/*/bin; install the server (apt-get install postgresql)"
        )
    run_as = _unprivileged_user() if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="chatbotmaker-pg-", dir=_temp_parent(run_as)))
    server = PostgresServer("", bindir=bindir, root=root, run_as=run_as)
    atexit.register(server.stop)
    try:
        (root / "socket").mkdir()
        if run_as is not None:
            entry = pwd.getpwnam(run_as)
            for path in (root, root / "socket"):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        _run(
            [
                str(bindir / "initdb"),
                "-D", str(root / "data"),
                "-U", SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            run_as=run_as,
            cwd=root,
        )  # fmt: skip
        chosen = {**SETTINGS, "unix_socket_directories": f"'{root / 'socket'}'", **(settings or {})}
        for attempt in range(3):  # another process may take the free port before we bind it
            port = free_port()
            _write_settings(root / "data" / "postgresql.conf", {**chosen, "port": str(port)})
            try:
                server._pg_ctl("start")
                break
            except subprocess.CalledProcessError:
                if attempt == 2 or not _port_taken(root / "server.log"):
                    raise
    except BaseException:
        server.stop()
        raise
    server.url = f"{DRIVER}://{SUPERUSER}@127.0.0.1:{port}/postgres"
    return server


def _run(
    argv: list[str],
    *,
    run_as: str | None,
    cwd: Path,
    check: bool = True,
    log_path: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL binary (as ``run_as`` when given); failures carry its output."""
    user_options = {}
    if run_as is not None:
        entry = pwd.getpwnam(run_as)
        user_options = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    if run_as is not None:
        env["HOME"] = str(cwd)
    result = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **user_options,
    )
    if check and result.returncode != 0:
        tail = ""
        if log_path is not None and log_path.exists():
            tail = "\n--- server log ---\n" + "\n".join(log_path.read_text().splitlines()[-20:])
        raise subprocess.CalledProcessError(
            result.returncode,
            argv,
            output=result.stdout,
            stderr=f"{result.stderr}{tail}",
        )
    return result


def _unprivileged_user() -> str:
    """The existing user other than root to run the server as: ``$CHATBOTMAKER_PG_USER``, else
    ``nobody``. Raises :class:`PostgresUnavailable` naming the fix when there is none."""
    name = os.environ.get(USER_VARIABLE, "").strip() or "nobody"
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        problem = f"there is no user {name!r}"
    else:
        if uid != 0:
            return name
        problem = f"user {name!r} is root"
    raise PostgresUnavailable(
        f"running as root and {problem}: initdb refuses to run as root; set ${USER_VARIABLE} "
        "to an existing unprivileged user (e.g. after `useradd --system chatbotmaker-pg`, as "
        ".ci/run does), or run the tests as a non-root user"
    )


def _temp_parent(run_as: str | None) -> str | None:
    """Where to make the folder: the usual temp dir, unless ``run_as`` could not reach it."""
    if run_as is None:
        return None
    parent = Path(tempfile.gettempdir()).resolve()
    for folder in (parent, *parent.parents):
        if not folder.stat().st_mode & 0o001:  # others may not traverse it
            return "/tmp"
    return str(parent)


def _port_taken(log_path: Path) -> bool:
    return log_path.exists() and "already in use" in log_path.read_text()


def _write_settings(conf: Path, settings: dict[str, str]) -> None:
    """Append ``settings`` to postgresql.conf; for a key set twice, the last line wins."""
    lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
    with conf.open("a") as file:
        file.write(f"\n# chatbotmaker tests\n{lines}")


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a plain database name: {name!r}")
    return name
