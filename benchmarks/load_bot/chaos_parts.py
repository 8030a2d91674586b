"""The parts of ``benchmarks/chaos.py``: a Graph API stand-in that can fail or stall on demand,
the servers under test (PostgreSQL's database, gunicorn, queue workers) and a posting lane.
"""

from __future__ import annotations

import http.client
import os
import random
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from devsupport.net import free_port
from load_bot.graph_server import classify
from load_bot.processes import PYTHON, Processes, child_env, wait_healthy
from load_bot.workload import Body, Event

CONFIG = """\
[bot]
initial_state = "welcome"
mode = "queued"
send_attempts = 10
send_backoff = 0.2
send_max_backoff = 1.0
send_deadline = 12.0
job_retry_wait = 1

[messenger]
name = "facebook"
page_access_token = "${{FACEBOOK_PAGE_TOKEN}}"
app_secret = "${{FACEBOOK_APP_SECRET}}"
verify_token = "${{FACEBOOK_VERIFY_TOKEN}}"
graph_url = "{graph_url}"

[database]
name = "sqlalchemy"
url = "{database_url}"

[rules]
name = "python"
source = "load_bot.rules:RULES"

[worker]
concurrency = 4
heartbeat_interval = 1.0
stalled_after = 4.0
check_interval = 1.0
poll_interval = 0.2
"""


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a client that went away (a killed worker): expected here


class ChaosGraph:
    """The Send API on 127.0.0.1 (threads): records (recipient, text) of every message it
    answers 200; during ``fail_for`` it answers 500, during ``stall_for`` it answers late."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrivals: list[tuple[str, str]] = []
        self._fail_until = 0.0
        self._stall_until = 0.0
        self._delay = 0.0
        graph = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.monotonic()
                if now < graph._stall_until:
                    time.sleep(graph._delay)
                status = 500 if time.monotonic() < graph._fail_until else 200
                kind, recipient, text = classify(body)
                if status == 200 and kind == "message":
                    with graph._lock:
                        graph._arrivals.append((str(recipient), str(text)))
                payload = (
                    b'{"error": {"message": "chaos", "code": 2}}'
                    if status == 500
                    else b'{"recipient_id": "1", "message_id": "m"}'
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> ChaosGraph:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_for(self, seconds: float) -> None:
        self._fail_until = time.monotonic() + seconds

    def stall_for(self, seconds: float, delay: float) -> None:
        self._delay = delay
        self._stall_until = time.monotonic() + seconds

    def arrivals(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._arrivals)

    def wait_for(self, replies: set[str], deadline: float, stall: float) -> str | None:
        """Until every reply in ``replies`` has arrived; otherwise why not: ``deadline``
        (monotonic) passed, or no new one arrived for ``stall`` seconds."""

        def missing() -> int:
            return len(replies - {text for _, text in self.arrivals()})

        return wait_until_none_left(
            missing,
            deadline,
            stall,
            stalled=lambda n: f"{n} replies missing; none arrived for {stall:.0f} s, gave up",
            late=lambda n: f"{n} replies missing when the drain ended",
        )


class Progress:
    """When the load last moved forward (a POST answered 200): the posting lanes give up once
    nothing has for ``stall`` seconds, rather than retrying blindly until their deadline (a
    server left down would otherwise hold the run for minutes)."""

    def __init__(self, stall: float) -> None:
        self.stall = stall
        self.gave_up: str | None = None
        self._last = time.monotonic()

    def note(self) -> None:
        self._last = time.monotonic()

    def stalled(self) -> bool:
        if time.monotonic() - self._last <= self.stall:
            return False
        if self.gave_up is None:
            self.gave_up = f"no webhook POST got its 200 for {self.stall:.0f} s; lanes gave up"
            print(f"  lanes: {self.gave_up}", flush=True)
        return True


class Servers:
    """A fresh database, ``init-db``, gunicorn (2 sync workers) and ``workers`` queue workers;
    the faults the scheduler injects into them, and bringing every killed one back."""

    def __init__(self, postgres: Any, graph_url: str, workers: int) -> None:
        self.postgres = postgres
        self.workdir = Path(tempfile.mkdtemp(prefix="chaos-"))
        self.processes = Processes(self.workdir)
        self.secret = secrets.token_hex(16)
        self.env = child_env(
            FACEBOOK_PAGE_TOKEN="chaos-" + secrets.token_hex(8),
            FACEBOOK_APP_SECRET=self.secret,
            FACEBOOK_VERIFY_TOKEN=secrets.token_hex(8),
        )
        postgres.drop_database("chaos")
        self.url = postgres.create_database("chaos")
        config = self.workdir / "chaos.toml"
        config.write_text(CONFIG.format(graph_url=graph_url, database_url=self.url))
        self.env["CHATBOTMAKER_CONFIG"] = str(config)
        self.config = config
        self.count = workers
        self.workers: list[subprocess.Popen[bytes]] = []
        self.port = free_port()
        self.web: subprocess.Popen[bytes] | None = None
        self.web_restarts = 0
        self._lock = threading.Lock()

    def __enter__(self) -> Servers:
        cli = [PYTHON, "-m", "chatbotmaker_core.cli"]
        made = subprocess.run(
            [*cli, "init-db", str(self.config)],
            env=self.env,
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
        )
        if made.returncode != 0:
            raise RuntimeError(f"chatbotmaker init-db failed:\n{made.stderr[-3000:]}")
        self._start_web()
        self.revive()
        wait_healthy(self.port, self.web, time.monotonic() + 60)
        return self

    def __exit__(self, *exc: object) -> None:
        self.processes.stop_all()

    def _start_web(self) -> None:
        argv = [PYTHON, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", "2"]
        argv += ["--timeout", "30", "--log-level", "warning"]
        self.web = self.processes.start(
            "gunicorn", [*argv, "chatbotmaker_core.web:app_from_env()"], self.env
        )

    def revive(self) -> None:
        """What a process supervisor does: start queue workers until ``count`` are alive, and
        gunicorn again if it exited (it does when a worker it starts cannot reach PostgreSQL
        during a restart: "Worker failed to boot"); and PostgreSQL again if it is down."""
        with self._lock:
            if self.web is not None and self.web.poll() is not None:
                self.web_restarts += 1
                print(f"  supervisor: gunicorn exited ({self.web.returncode}); starting it again")
                self._start_web()
            self.workers = [w for w in self.workers if w.poll() is None]
            while len(self.workers) < self.count:
                name = f"worker-{len(self.processes.running)}"
                argv = [PYTHON, "-m", "chatbotmaker_core.cli", "worker", str(self.config)]
                self.workers.append(self.processes.start(name, argv, self.env))
        self.postgres.ensure_running()  # a restart that failed must not leave it down

    def kill_worker(self, rng: random.Random) -> None:
        with self._lock:
            victim = rng.choice(self.workers)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.revive()

    def kill_web_worker(self, rng: random.Random) -> bool:
        """SIGKILL one of gunicorn's workers (its master starts another)."""
        assert self.web is not None
        path = Path(f"/proc/{self.web.pid}/task/{self.web.pid}/children")
        children = path.read_text().split() if path.exists() else []
        if not children:
            return False
        try:
            os.kill(int(rng.choice(children)), signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True

    def wait_idle(self, deadline: float, stall: float) -> str | None:
        """Until no job is todo or doing (a scheduled fallback job included); otherwise why
        not: ``deadline`` (monotonic) passed, or their number stayed the same (or the database
        unreachable) for ``stall`` seconds."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url, connect_args={"connect_timeout": 3})

        def jobs_left() -> int:
            try:
                with engine.connect() as conn:
                    return int(conn.execute(text(JOBS_LEFT)).scalar() or 0)
            except Exception:  # noqa: BLE001 - PostgreSQL may still be coming back
                return -1

        def what(n: int) -> str:
            return "the database unreachable" if n == -1 else f"{n} jobs left"

        try:
            return wait_until_none_left(
                jobs_left,
                deadline,
                stall,
                stalled=lambda n: (
                    f"{what(n)}, unchanged for {stall:.0f} s: gave up waiting for an idle queue"
                ),
                late=lambda n: f"{what(n)} when the wait for an idle queue ended",
            )
        finally:
            engine.dispose()

    def replies_sent_again(self) -> int:
        """How many deliveries met a Graph API failure that outlasted their send retries and
        left their replies to the delivery job (the queue workers' logs say each once)."""
        return sum(
            path.read_text(errors="replace").count("its delivery job tries again")
            for path in self.workdir.glob("worker-*.log")
        )

    def diagnostics(self) -> str:
        """The jobs by status and the tails of PostgreSQL's, gunicorn's and the queue workers'
        logs (the whole logs stay in :attr:`workdir`, PostgreSQL's copied there: its own folder
        goes at the end)."""
        parts = [f"jobs by status: {self.job_counts()}"]
        log_path = self.postgres.log_path
        if log_path is not None and log_path.exists():
            shutil.copy(log_path, self.workdir / "postgresql.log")
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
            parts.append(f"--- PostgreSQL log (tail) ---\n{tail}")
        names = [name for name, _ in self.processes.running]
        workers = [name for name in names if name.startswith("worker-")]
        for name in ["gunicorn", *workers[-self.count :]]:  # the queue workers alive last
            parts.append(f"--- {name}.log (tail) ---\n{self.processes.log_tail(name, 15)}")
        return "\n".join(parts) + f"\n(whole logs in {self.workdir})"

    def job_counts(self) -> dict[str, int] | str:
        """procrastinate's jobs by status, or why they cannot be read."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                rows = conn.execute(text(JOBS_BY_STATUS)).all()
            return {str(status): int(n) for status, n in rows}
        except Exception as error:  # noqa: BLE001 - diagnostics: say why, go on
            return f"unreadable ({type(error).__name__})"
        finally:
            engine.dispose()


JOBS_BY_STATUS = "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status"
JOBS_LEFT = "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"


def post_until_ok(
    port: int,
    secret: str,
    events: list[Event],
    start: float,
    duration: float,
    make_body: Callable[..., Body],
    give_up: float,
    acknowledged: list[Event],
    progress: Progress,
) -> None:
    """Post one user's events in order, spread over ``duration``; each one again (as Meta
    does) until it gets a 200: a killed web worker or a restarting database costs a retry.
    Past ``give_up`` (monotonic), or once ``progress`` has stalled, the lane stops;
    ``acknowledged`` gets the events that got their 200."""
    rng = random.Random(events[0].user if events else 0)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for i, event in enumerate(events):
        pause = start + duration * i / len(events) + rng.uniform(0, 0.5) - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        body = make_body([event], secret, rng)
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": body.signature}
        while True:
            if time.monotonic() > give_up or progress.stalled():
                conn.close()
                return
            try:
                conn.request("POST", "/webhook", body=body.raw, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    acknowledged.append(event)
                    progress.note()
                    break
            except (OSError, http.client.HTTPException):
                conn.close()
            time.sleep(0.3)
    conn.close()


def wait_until_none_left(
    count: Callable[[], int],
    deadline: float,
    stall: float,
    *,
    stalled: Callable[[int], str],
    late: Callable[[int], str],
) -> str | None:
    """Poll ``count`` until it is 0 (None); otherwise why not, worded by ``stalled`` (the count
    stayed the same for ``stall`` seconds) or ``late`` (``deadline``, monotonic, passed)."""
    have, since = None, time.monotonic()
    while True:
        left = count()
        if left == 0:
            return None
        now = time.monotonic()
        if left != have:
            have, since = left, now
        elif now - since > stall:
            return stalled(left)
        if now > deadline:
            return late(left)
        time.sleep(0.5)
