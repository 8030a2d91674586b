"""A bounded load test of the Facebook webhook, inline and queued, checked for exactly-once.

    .venv/bin/python benchmarks/webhook_load.py              # every scenario, a few minutes
    .venv/bin/python benchmarks/webhook_load.py --quick      # fewer events, under a minute
    .venv/bin/python benchmarks/webhook_load.py --scenarios inline-pg,queued-4 --users 200

Everything runs on 127.0.0.1 and is started and stopped here: a throwaway PostgreSQL cluster
(``tests/postgres.py``), a fake Graph API in its own process (``load_bot/graph_server.py``, a
single-threaded epoll server costing about 0.1 ms of CPU per request) that timestamps every Send
API call, and for each
scenario a fresh database, ``chatbotmaker init-db``, gunicorn serving
``chatbotmaker_core.web:app_from_env()`` and, in queued mode, ``chatbotmaker worker`` processes.

The client posts signed, Meta-shaped bodies (``entry[].messaging[]``; a share of them batch
several events of several users, as entries or as messaging items) from ``--concurrency``
lanes. Each user belongs to one lane, and a lane posts its next body only after the previous
one got its 200, as Meta does for one page; so each user's messages are sent in order. A
5xx or a connection error is retried (bounded, with backoff) as Meta would, and a few bodies
already acknowledged are posted again later (redeliveries). The bot (``load_bot/rules.py``)
counts each user's messages and replies ``"<user>:<n>:<text>"``.

Measured per scenario: POST latency (first attempt to 200), reply latency (first attempt of
the event's POST to the Graph API receiving its reply), throughput (events / time from the
first POST to the last reply), and the CPU each component used meanwhile. Checked afterwards:
each user's counter equals the number of distinct message ids sent to it; the handled-ids table
holds exactly those ids; every expected reply reached the Graph API (extra copies, which
at-least-once delivery allows, are counted separately) and nothing else did; each user's
replies arrived with n = 1, 2, 3...; in queued mode no job failed or was left behind.

Results go to ``benchmarks/results/webhook_load.json``; the exit status is 1 when a check
failed. ``Harness``, ``Scenario`` and ``Load`` are importable for other benchmarks.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import math
import os
import platform
import random
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from machine import cpu_model, postgres_module

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "webhook_load.json"
PYTHON = sys.executable

PAGE_ID = "100000000000001"
USER_BASE = 7100000000000000  # PSIDs are numeric strings
WARMUP_BASE = 7900000000000000
COUNTER = "count"  # the argument load_bot/rules.py counts in

CONFIG_TEMPLATE = """\
# Written by benchmarks/webhook_load.py for scenario {scenario}.
[bot]
initial_state = "welcome"
mode = "{mode}"

[messenger]
name = "facebook"
page_access_token = "${{FACEBOOK_PAGE_TOKEN}}"
app_secret = "${{FACEBOOK_APP_SECRET}}"
verify_token = "${{FACEBOOK_VERIFY_TOKEN}}"
graph_url = "{graph_url}"
turn_action = "{turn_action}"

[database]
name = "sqlalchemy"
url = "{database_url}"

[rules]
name = "python"
source = "load_bot.rules:RULES"

[worker]
concurrency = {worker_concurrency}
"""


# -- what to run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One server set-up. ``mode``: ``inline``, ``queued`` or ``bare`` (a Flask app that
    answers 200 and does nothing else: the web stack's ceiling, no replies to wait for)."""

    name: str
    mode: str
    database: str = "postgresql"  # or "sqlite" (inline only), ignored by "bare"
    web_workers: int = 4
    web_worker_class: str = "sync"
    queue_workers: int = 0
    worker_concurrency: int = 4
    gunicorn_args: tuple[str, ...] = ()  # more options, e.g. ("--threads", "4")

    @property
    def expects_replies(self) -> bool:
        return self.mode != "bare"

    @property
    def needs_postgres(self) -> bool:
        return self.mode != "bare" and self.database == "postgresql"


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("bare", "bare"),
        Scenario("inline-pg", "inline"),
        Scenario("inline-sqlite", "inline", database="sqlite"),
        Scenario("queued-1", "queued", queue_workers=1),
        Scenario("queued-2", "queued", queue_workers=2),
        Scenario("queued-4", "queued", queue_workers=4),
    )
}


@dataclass(frozen=True)
class Load:
    """How much to send, and how."""

    users: int = 100
    messages: int = 16  # per user
    concurrency: int = 16  # lanes posting at once
    batch_share: float = 0.2  # share of bodies carrying several events
    max_batch: int = 4
    redeliveries: int = 12  # bodies posted again after their 200
    warmup_users: int = 16  # one message each, before the timed part (checked too)
    rate: float = 0.0  # events/s offered; 0 = as fast as the webhook answers
    turn_action: str = "none"  # [messenger] turn_action: "none" = one Send API call per event
    post_attempts: int = 5
    post_timeout: float = 30.0
    scenario_timeout: float = 150.0  # posting and waiting for replies, per scenario
    seed: int = 20260101

    @property
    def events(self) -> int:
        return self.users * self.messages


QUICK = Load(users=24, messages=8, redeliveries=4, warmup_users=8, scenario_timeout=40.0)


# -- the workload --------------------------------------------------------------------------------


@dataclass(eq=False)
class Event:
    user: str
    seq: int  # the user's n-th message, from 1
    mid: str
    text: str
    timed: bool = True  # False for warm-up events
    sent_at: float | None = None  # first attempt of the POST carrying it
    replied_at: float | None = None  # the Graph API received its reply

    @property
    def reply(self) -> str:
        return f"{self.user}:{self.seq}:{self.text}"


@dataclass(eq=False)
class Body:
    raw: bytes
    signature: str
    events: list[Event]
    redelivery: bool = False
    started: float | None = None
    done: float | None = None  # got a non-5xx answer
    status: int | None = None
    attempts: int = 0
    error: str | None = None


def message_text(seq: int) -> str:
    # Some texts need \\u escapes in the body, as Meta sends them: the signature covers those.
    return f"hello {seq}" + (" café ☕" if seq % 5 == 0 else "")


def sign(raw: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def make_body(events: list[Event], secret: str, rng: random.Random) -> Body:
    now = int(time.time() * 1000)
    messaging = [
        {
            "sender": {"id": e.user},
            "recipient": {"id": PAGE_ID},
            "timestamp": now,
            "message": {"mid": e.mid, "text": e.text},
        }
        for e in events
    ]
    if len(messaging) > 1 and rng.random() < 0.5:  # Meta batches as entries or as messaging
        entries = [{"id": PAGE_ID, "time": now, "messaging": [m]} for m in messaging]
    else:
        entries = [{"id": PAGE_ID, "time": now, "messaging": messaging}]
    raw = json.dumps({"object": "page", "entry": entries}).encode()  # ASCII, \\u escapes
    return Body(raw, sign(raw, secret), events)


def build_lanes(load: Load, tag: str, secret: str) -> list[list[Body]]:
    """The timed bodies, one list per lane. A lane's users are interleaved in its bodies; a
    user's messages are in order within its lane, and a user is in one lane only."""
    rng = random.Random(f"{load.seed}:{tag}")
    users = [str(USER_BASE + i) for i in range(load.users)]
    count = max(1, min(load.concurrency, len(users)))
    lanes: list[list[Body]] = []
    for k in range(count):
        mine = users[k::count]
        events = [
            Event(u, seq, f"m_{tag}_{u}_{seq}", message_text(seq))
            for seq in range(1, load.messages + 1)
            for u in mine
        ]
        bodies = []
        i = 0
        while i < len(events):
            size = 1
            if load.max_batch > 1 and rng.random() < load.batch_share:
                size = rng.randint(2, load.max_batch)
            bodies.append(make_body(events[i : i + size], secret, rng))
            i += size
        lanes.append(bodies)
    for r in range(load.redeliveries):
        lane = lanes[r % count]
        originals = [i for i, b in enumerate(lane) if not b.redelivery]
        if not originals:
            continue
        i = rng.choice(originals)
        copy = Body(lane[i].raw, lane[i].signature, lane[i].events, redelivery=True)
        lane.insert(min(i + 1 + rng.randint(0, 3), len(lane)), copy)
    return lanes


def build_warmup(load: Load, tag: str, secret: str) -> list[list[Body]]:
    rng = random.Random(f"{load.seed}:{tag}:warmup")
    lanes = []
    for i in range(load.warmup_users):
        user = str(WARMUP_BASE + i)
        event = Event(user, 1, f"w_{tag}_{user}", message_text(1), timed=False)
        lanes.append([make_body([event], secret, rng)])
    return lanes


def events_of(lanes: Iterable[list[Body]]) -> list[Event]:
    return [e for lane in lanes for body in lane if not body.redelivery for e in body.events]


# -- the client ----------------------------------------------------------------------------------


class Client:
    """Posts the lanes' bodies, one thread per lane, each on its own HTTP connection."""

    def __init__(self, port: int, load: Load) -> None:
        self.port = port
        self.load = load

    def run(self, lanes: list[list[Body]], deadline: float, rate: float = 0.0) -> None:
        """Post every lane's bodies; with ``rate`` (events/s in all), each lane is paced in
        proportion to its share of the events, so that all lanes end together."""
        total = sum(len(b.events) for lane in lanes for b in lane)
        start = time.monotonic()
        threads = []
        for lane in lanes:
            share = sum(len(b.events) for b in lane) / total if total else 0.0
            args = (lane, start, rate * share, deadline)
            threads.append(threading.Thread(target=self._lane, args=args, daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():  # short joins: Ctrl-C stays responsive
                thread.join(0.2)

    def _lane(self, lane: list[Body], start: float, rate: float, deadline: float) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.load.post_timeout)
        offered = 0
        try:
            for body in lane:
                if time.monotonic() > deadline:
                    return  # unsent bodies have started = None: reported
                if rate:
                    due = start + offered / rate
                    pause = due - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    offered += len(body.events)
                self.post(conn, body)
        except Exception as error:  # noqa: BLE001 - reported with the scenario
            body.error = f"client: {type(error).__name__}: {error}"
        finally:
            conn.close()

    def post(self, conn: http.client.HTTPConnection, body: Body) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": body.signature,
            "User-Agent": "facebookexternalua",
        }
        pause = 0.1
        while True:
            body.attempts += 1
            now = time.monotonic()
            if body.started is None:
                body.started = now
                if not body.redelivery:
                    for event in body.events:
                        event.sent_at = now
            status: int | None = None
            try:
                conn.request("POST", "/webhook", body=body.raw, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                body.error = f"{type(error).__name__}: {error}"
            body.status = status
            if status is not None and status < 500:
                body.done = time.monotonic()
                return
            if body.attempts >= self.load.post_attempts:
                return
            time.sleep(pause)  # Meta retries a failed delivery, later
            pause = min(pause * 2, 2.0)


# -- processes -----------------------------------------------------------------------------------


class Processes:
    """Every process this run starts, each in its own session (its own process group), so
    that stopping one stops its children too (gunicorn's workers) and nothing else."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        stdin: int | IO[Any] | None = subprocess.DEVNULL,
        stdout: int | IO[Any] | None = None,
    ) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        try:
            process = subprocess.Popen(
                list(argv),
                cwd=HERE,
                env=env,
                stdin=stdin,
                stdout=log if stdout is None else stdout,
                stderr=log,
                start_new_session=True,
            )
        finally:
            log.close()
        self.running.append((name, process))
        return process

    def stop(self, *processes: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
        """SIGTERM to each process's group (all at once), SIGKILL what is left after
        ``timeout``; then SIGKILL whatever a group leader left behind."""
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            alive = [p for p in processes if p.poll() is None]
            for process in alive:
                self._signal_group(process.pid, sig)  # group id = pid: start_new_session
            until = time.monotonic() + wait
            for process in alive:
                try:
                    process.wait(max(until - time.monotonic(), 0.01))
                except subprocess.TimeoutExpired:
                    pass
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(5)
            self._signal_group(process.pid, signal.SIGKILL)  # a gunicorn worker left over
        self.running = [(n, p) for n, p in self.running if p not in processes]

    @staticmethod
    def _signal_group(pgid: int, sig: int) -> None:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop_all(self) -> None:
        try:
            self.stop(*[p for _, p in self.running], timeout=5.0)
        except Exception as error:  # noqa: BLE001 - at exit: say so, do not mask the cause
            print(f"warning: could not stop every process: {error}", file=sys.stderr)

    def log_tail(self, name: str, lines: int = 25) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class GraphApi:
    """The fake Graph API process and the parent's record of what it received."""

    def __init__(self, processes: Processes) -> None:
        self.process = processes.start(
            "graph",
            [PYTHON, "-m", "load_bot.graph_server"],
            _child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the fake Graph API did not start:\n" + processes.log_tail("graph"))
        self.url: str = json.loads(line)["url"]
        #: (monotonic time, kind, recipient, text) of every request, in arrival order
        self.records: list[tuple[float, str, str | None, str | None]] = []
        self._cond = threading.Condition()
        self._waiting: dict[tuple[str, str], Event] = {}
        self._pending = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            t, kind, recipient, text = json.loads(line)
            with self._cond:
                self.records.append((t, kind, recipient, text))
                if kind != "message":
                    continue
                event = self._waiting.pop((recipient, text), None)
                if event is not None:
                    event.replied_at = t
                    self._pending -= 1
                    if self._pending == 0:
                        self._cond.notify_all()

    def expect(self, events: Iterable[Event]) -> None:
        with self._cond:
            for event in events:
                self._waiting[(event.user, event.reply)] = event
                self._pending += 1

    def wait(self, deadline: float) -> bool:
        """Until every expected reply arrived (True) or ``deadline`` passed (False)."""
        with self._cond:
            while self._pending > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return True

    def forget(self) -> None:
        with self._cond:
            self._waiting.clear()
            self._pending = 0

    def mark(self) -> int:
        with self._cond:
            return len(self.records)

    def since(self, mark: int) -> list[tuple[float, str, str | None, str | None]]:
        with self._cond:
            return self.records[mark:]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # it exits when its stdin closes


def _child_env(**extra: str) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "PYTHONPATH": str(HERE) + (os.pathsep + path if path else ""),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(port: int, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {process.returncode}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer /healthz in time")


# -- CPU accounting (Linux /proc; empty elsewhere) -----------------------------------------------


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of it and of its children it has reaped)."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as file:
                stat = file.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # after the name: state ppid ... utime(14) stime cutime cstime, numbered from 3
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
        table[int(name)] = (int(fields[1]), ticks / _TICK)
    return table


def _system_busy() -> float:
    with open("/proc/stat") as file:
        values = [int(v) for v in file.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / _TICK


def cpu_snapshot(roots: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far of each named group of process trees, of this process (the load
    test's client and its reader of the Graph API's log) and of the whole machine."""
    if not Path("/proc/stat").exists():
        return {}
    table = _process_table()
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (ppid, _) in table.items():
        children[ppid].append(pid)
    snapshot = {}
    for name, pids in roots.items():
        total, todo, seen = 0.0, list(pids), set()
        while todo:
            pid = todo.pop()
            if pid in seen or pid not in table:
                continue
            seen.add(pid)
            total += table[pid][1]
            todo.extend(children[pid])
        snapshot[name] = total
    own = os.times()
    snapshot["client"] = own.user + own.system
    snapshot["machine"] = _system_busy()
    # whatever else ran meanwhile (other jobs on a shared machine): it skews the figures
    snapshot["other"] = snapshot["machine"] - sum(v for k, v in snapshot.items() if k != "machine")
    return snapshot


# -- one scenario --------------------------------------------------------------------------------


class Harness:
    """What the scenarios share: a work folder, the processes, PostgreSQL, the Graph API.

    ``with Harness(postgres=True) as harness: result = harness.run(scenario, load)``
    """

    def __init__(self, *, postgres: bool = True, keep: bool = False, verbose: bool = True) -> None:
        self.want_postgres = postgres
        self.keep = keep
        self.verbose = verbose
        self.workdir = Path(tempfile.mkdtemp(prefix="webhook-load-"))
        self.processes = Processes(self.workdir)
        self.postgres: Any = None
        self.graph: GraphApi | None = None
        self.secrets = {
            "FACEBOOK_PAGE_TOKEN": "load-" + secrets.token_hex(16),
            "FACEBOOK_APP_SECRET": secrets.token_hex(16),
            "FACEBOOK_VERIFY_TOKEN": secrets.token_hex(8),
        }

    def __enter__(self) -> Harness:
        try:
            if self.want_postgres:
                self.say("starting PostgreSQL ...")
                self.postgres = postgres_module().start_postgres()
            self.graph = GraphApi(self.processes)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.graph is not None:
            self.graph.close()
        self.processes.stop_all()
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def say(self, text: str) -> None:
        if self.verbose:
            print(text, flush=True)

    def machine(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "nproc": os.cpu_count(),
            "cpu_model": cpu_model(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "packages": {},
        }
        for name in ("gunicorn", "flask", "sqlalchemy", "psycopg", "procrastinate", "requests"):
            try:
                info["packages"][name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                pass
        if self.postgres is not None:
            from sqlalchemy import create_engine, text
            from sqlalchemy.pool import NullPool

            engine = create_engine(self.postgres.url, poolclass=NullPool)
            with engine.connect() as conn:
                info["postgresql"] = conn.execute(text("SHOW server_version")).scalar()
            engine.dispose()
        return info

    # -- running a scenario -----------------------------------------------------------------

    def run(self, scenario: Scenario, load: Load) -> dict[str, Any]:
        """Start the scenario's servers, send the load, check, stop them; the result."""
        assert self.graph is not None
        graph = self.graph
        tag = scenario.name.replace("-", "_")
        secret = self.secrets["FACEBOOK_APP_SECRET"]
        started = time.monotonic()
        deadline = started + load.scenario_timeout + 60.0  # + start-up and warm-up
        result: dict[str, Any] = {"scenario": scenario.name, "setup": asdict(scenario)}
        problems: list[str] = []
        mark = graph.mark()
        phases: dict[str, float] = {}  # seconds each step took, to see where the time goes
        lap = [started]

        def phase(name: str) -> None:
            now = time.monotonic()
            phases[name] = round(now - lap[0], 2)
            lap[0] = now

        own: list[subprocess.Popen[bytes]] = []
        database_url: str | None = None
        config: Path | None = None
        try:
            env = _child_env(**self.secrets)
            if scenario.mode == "bare":
                app = "load_bot.bare_app:app"
            else:
                database_url = self._database(scenario, tag)
                config = self.workdir / f"{tag}.toml"
                config.write_text(
                    CONFIG_TEMPLATE.format(
                        scenario=scenario.name,
                        mode=scenario.mode,
                        graph_url=graph.url,
                        turn_action=load.turn_action,
                        database_url=database_url,
                        worker_concurrency=scenario.worker_concurrency,
                    )
                )
                env["CHATBOTMAKER_CONFIG"] = str(config)
                self._init_db(config, env)
                phase("database")
                app = "chatbotmaker_core.web:app_from_env()"
            port = free_port()
            web = self.processes.start(
                f"{tag}-gunicorn",
                [
                    PYTHON, "-m", "gunicorn",
                    "--bind", f"127.0.0.1:{port}",
                    "--workers", str(scenario.web_workers),
                    "--worker-class", scenario.web_worker_class,
                    "--timeout", "60",
                    "--graceful-timeout", "5",
                    "--log-level", "warning",
                    *scenario.gunicorn_args,
                    app,
                ],
                env,
            )  # fmt: skip
            own.append(web)
            workers = []  # they boot while gunicorn does; the warm-up waits for both
            for i in range(scenario.queue_workers):
                worker = self.processes.start(
                    f"{tag}-worker{i + 1}",
                    [PYTHON, "-m", "chatbotmaker_core.cli", "worker", str(config)],  # type: ignore
                    env,
                )
                own.append(worker)
                workers.append(worker)
            wait_healthy(port, web, time.monotonic() + 60)
            phase("servers")

            client = Client(port, load)
            # Warm-up: every gunicorn worker and queue worker has loaded the bot, opened its
            # pools and its connection to the Graph API before the clock starts.
            warmup = build_warmup(load, tag, secret)
            warm_events = events_of(warmup)
            if scenario.expects_replies:
                graph.expect(warm_events)
            client.run(warmup, deadline)
            if scenario.expects_replies and not graph.wait(time.monotonic() + 60):
                problems.append("warm-up: not every reply arrived within 60 s")
            graph.forget()
            phase("warmup")

            lanes = build_lanes(load, tag, secret)
            events = events_of(lanes)
            bodies = [b for lane in lanes for b in lane]
            if scenario.expects_replies:
                graph.expect(events)
            roots = {
                "gunicorn": [web.pid],
                "workers": [w.pid for w in workers],
                "postgres": [self._postmaster()] if scenario.needs_postgres else [],
                "graph": [graph.process.pid],
            }
            cpu_before = cpu_snapshot(roots)
            t0 = time.monotonic()
            self.say(
                f"  {scenario.name}: {len(events)} events in {len(bodies)} bodies "
                f"from {len(lanes)} lanes ..."
            )
            run_deadline = t0 + load.scenario_timeout
            client.run(lanes, run_deadline, load.rate)
            posted = time.monotonic()
            complete = True
            if scenario.expects_replies:
                complete = graph.wait(run_deadline)
                if not complete:
                    problems.append(
                        f"timed out after {load.scenario_timeout:.0f} s waiting for replies"
                    )
            t1 = time.monotonic()
            cpu_after = cpu_snapshot(roots)
            phase("load")
            graph.forget()
            if scenario.mode == "queued":
                idle = _wait_queue_idle(database_url, time.monotonic() + 30)
                if not idle:
                    problems.append("the queue still had todo/doing jobs 30 s after the run")
            time.sleep(0.3)  # a late duplicate delivery still reaches the record
            for process in own:
                if process.poll() is not None:
                    name = next((n for n, p in self.processes.running if p is process), "?")
                    problems.append(f"{name} exited early, status {process.returncode}")
            self.processes.stop(*workers)  # they finish their running jobs first
            self.processes.stop(web)
            records = graph.since(mark)
            phase("drain_and_stop")

            result.update(
                _measure(scenario, events, bodies, t0, posted, t1, complete, cpu_before, cpu_after)
            )
            if scenario.expects_replies:
                result.update(
                    _check(
                        scenario,
                        database_url,
                        warm_events + events,
                        [b for lane in warmup for b in lane] + bodies,
                        records,
                        problems,
                    )
                )
            else:
                failed = [b for b in bodies if b.done is None or b.status != 200]
                if failed:
                    problems.append(f"{len(failed)} bodies did not get a 200")
                result.update(exactly_once=None, order_ok=None, duplicate_replies=None)
        except Exception as error:  # noqa: BLE001 - reported as the scenario's failure
            problems.append(f"{type(error).__name__}: {error}")
            result.setdefault("exactly_once", False)
            result.setdefault("order_ok", False)
        finally:
            self.processes.stop(*own)
        result["log_errors"] = self._log_errors(tag)
        if problems:
            self.keep = True  # the logs explain it
            for name in sorted(p.stem for p in self.workdir.glob(f"{tag}-*.log")):
                tail = self.processes.log_tail(name, 15)
                if tail:
                    problems.append(f"--- {self.workdir / name}.log ---\n{tail}")
        result["problems"] = problems
        result["ok"] = not problems
        result["seconds"] = round(time.monotonic() - started, 1)
        phase("check")
        result["phases"] = phases
        return result

    def _log_errors(self, tag: str) -> list[str]:
        """Error lines the scenario's servers logged (reported even when every check passed:
        a retried delivery or a restarted worker shows up here)."""
        found = []
        for path in sorted(self.workdir.glob(f"{tag}-*.log")):
            for line in path.read_text(errors="replace").splitlines():
                if "ERROR" in line or line.startswith("Traceback") or "Error:" in line:
                    found.append(f"{path.stem}: {line.strip()[:200]}")
        return found[:20]

    def _database(self, scenario: Scenario, tag: str) -> str:
        if scenario.database == "sqlite":
            return f"sqlite:///{self.workdir / (tag + '.db')}"
        if self.postgres is None:
            raise RuntimeError(f"{scenario.name} needs PostgreSQL")
        name = f"load_{tag}"
        self.postgres.drop_database(name)
        return self.postgres.create_database(name)

    def _init_db(self, config: Path, env: dict[str, str]) -> None:
        done = subprocess.run(
            [PYTHON, "-m", "chatbotmaker_core.cli", "init-db", str(config)],
            cwd=HERE,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"chatbotmaker init-db failed:\n{done.stdout}{done.stderr}")

    def _postmaster(self) -> int:
        pid_file = Path(self.postgres.root) / "data" / "postmaster.pid"
        return int(pid_file.read_text().split()[0])


def _wait_queue_idle(url: str | None, deadline: float) -> bool:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        while True:
            with engine.connect() as conn:
                busy = conn.execute(
                    text(
                        "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
                    )
                ).scalar()
            if not busy:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
    finally:
        engine.dispose()


# -- measuring and checking ----------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) with linear interpolation, or None without values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low = math.floor(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def _measure(
    scenario: Scenario,
    events: list[Event],
    bodies: list[Body],
    t0: float,
    posted: float,
    t1: float,
    complete: bool,
    cpu_before: dict[str, float],
    cpu_after: dict[str, float],
) -> dict[str, Any]:
    post = [b.done - b.started for b in bodies if b.done is not None and b.started is not None]
    reply = [
        e.replied_at - e.sent_at
        for e in events
        if e.replied_at is not None and e.sent_at is not None
    ]
    first = min((b.started for b in bodies if b.started is not None), default=t0)
    if scenario.expects_replies:
        last = max((e.replied_at for e in events if e.replied_at is not None), default=t1)
        handled = sum(1 for e in events if e.replied_at is not None)
    else:
        last = max((b.done for b in bodies if b.done is not None), default=posted)
        handled = sum(len(b.events) for b in bodies if b.done is not None and not b.redelivery)
    wall = max(last - first, 1e-9)
    window = max(t1 - t0, 1e-9)
    cpu = {
        name: round((cpu_after[name] - cpu_before.get(name, 0.0)) / window, 2) for name in cpu_after
    }
    statuses = Counter(str(b.status) for b in bodies)
    return {
        "events": len(events),
        "bodies": len(bodies),
        "batched_bodies": sum(1 for b in bodies if len(b.events) > 1),
        "redeliveries": sum(1 for b in bodies if b.redelivery),
        "post_retries": sum(max(b.attempts - 1, 0) for b in bodies),
        "unsent_bodies": sum(1 for b in bodies if b.started is None),
        "statuses": dict(statuses),
        "complete": complete,
        "seconds_posting": round(posted - first, 3),
        "seconds_to_last_reply": round(wall, 3),
        "throughput_eps": round(handled / wall, 1),
        "post_ms": {"p50": _ms(percentile(post, 0.5)), "p99": _ms(percentile(post, 0.99))},
        "reply_ms": {"p50": _ms(percentile(reply, 0.5)), "p99": _ms(percentile(reply, 0.99))},
        # CPU used during the timed window, in cores (1.0 = one core busy all along), and
        # per event handled: the latter barely depends on what else the machine runs
        "cpu_cores": cpu,
        "cpu_ms_per_event": {
            name: round((cpu_after[name] - cpu_before.get(name, 0.0)) * 1000 / handled, 2)
            for name in cpu_after
            if handled and name not in ("machine", "other")
        },
    }


def _check(
    scenario: Scenario,
    database_url: str | None,
    events: list[Event],
    bodies: list[Body],
    records: list[tuple[float, str, str | None, str | None]],
    problems: list[str],
) -> dict[str, Any]:
    """Exactly once and in order, from the database and from what the Graph API received."""
    from sqlalchemy import and_, func, select, text

    from chatbotmaker_core import Database

    once: list[str] = []
    order: list[str] = []
    lost = [b for b in bodies if b.done is None or b.status != 200]
    if lost:
        statuses = Counter(str(b.status) for b in lost)
        once.append(
            f"{len(lost)} bodies never got a 200 (status {dict(statuses)}; e.g. {lost[0].error})"
        )

    expected_count: Counter[str] = Counter()
    mids: set[str] = set()
    for event in events:
        expected_count[event.user] += 1
        mids.add(event.mid)

    database = Database(database_url)
    models = database.models
    try:
        with database.engine.connect() as conn:
            rows = conn.execute(
                select(models.User.fb_id, models.Argument.value).join(
                    models.Argument,
                    and_(
                        models.Argument.user_id == models.User.id,
                        models.Argument.name == COUNTER,
                    ),
                    isouter=True,
                )
            ).all()
            handled = set(conn.execute(select(models.HandledMessage.message_id)).scalars())
            failures = conn.execute(
                select(func.count()).select_from(models.DeliveryFailure)
            ).scalar()
            jobs: dict[str, int] = {}
            queue_ms: dict[str, dict[str, float]] = {}
            if scenario.mode == "queued":
                for task, status, n in conn.execute(
                    text(
                        "SELECT task_name, status, count(*) FROM procrastinate_jobs "
                        "GROUP BY 1, 2 ORDER BY 1, 2"
                    )
                ):
                    jobs[f"{task}:{status}"] = n
                for task, *values in conn.execute(text(QUEUE_TIMINGS)):
                    keys = ("wait_p50", "wait_p99", "run_p50", "run_p99")
                    queue_ms[task] = {k: round(v, 1) for k, v in zip(keys, values, strict=True)}
    finally:
        database.dispose()

    counters = {user: value for user, value in rows}
    wrong = {
        user: (counters.get(user), n)
        for user, n in expected_count.items()
        if counters.get(user) != n
    }
    if wrong:
        sample = ", ".join(f"{u}: {got} != {want}" for u, (got, want) in list(wrong.items())[:5])
        once.append(f"{len(wrong)} users' counters differ from their distinct ids ({sample})")
    strangers = set(counters) - set(expected_count)
    if strangers:
        once.append(f"{len(strangers)} users nobody sent as: {sorted(strangers)[:5]}")
    if handled != mids:
        once.append(
            f"handled ids: {len(mids - handled)} missing, {len(handled - mids)} unexpected "
            f"(of {len(mids)} sent)"
        )
    if failures:
        once.append(f"{failures} delivery failures recorded")
    bad_jobs = {k: n for k, n in jobs.items() if not k.endswith(":succeeded")}
    if bad_jobs:
        once.append(f"queue jobs not succeeded: {bad_jobs}")

    by_reply = {(e.user, e.reply): e for e in events}
    arrivals: Counter[tuple[str, str]] = Counter()
    sequence: dict[str, list[int]] = defaultdict(list)  # first arrivals, per user, in order
    unexpected: list[str] = []
    for _, kind, recipient, text_ in records:
        if kind != "message":
            continue
        key = (recipient or "", text_ or "")
        event = by_reply.get(key)
        if event is None:
            unexpected.append(f"{recipient}: {text_!r}")
            continue
        arrivals[key] += 1
        if arrivals[key] == 1:
            sequence[event.user].append(event.seq)
    missing = [key for key in by_reply if arrivals[key] == 0]
    duplicates = sum(n - 1 for n in arrivals.values() if n > 1)
    if missing:
        once.append(f"{len(missing)} replies never reached the Graph API, e.g. {missing[:3]}")
    if unexpected:
        once.append(f"{len(unexpected)} unexpected messages sent, e.g. {unexpected[:3]}")
    for user, seqs in sequence.items():
        if seqs != sorted(seqs) or seqs != list(range(1, len(seqs) + 1)):
            order.append(f"user {user}: replies arrived as n = {seqs[:12]}")
    if order:
        order = [f"{len(order)} users' replies out of order; {order[0]}"]
    problems.extend(once + order)
    return {
        "exactly_once": not once,
        "order_ok": not order,
        "duplicate_replies": duplicates,
        "users": len(expected_count),
        "distinct_ids": len(mids),
        "jobs": jobs,
        "queue_ms": queue_ms,
    }


#: per task, from procrastinate's event log: the wait from deferred to started and the run
#: from started to succeeded, in ms. procrastinate stamps events with now(), the start of their
#: transaction: a delivery job is "deferred" when its turn's transaction began, so its wait
#: includes the rest of that turn.
QUEUE_TIMINGS = """
WITH spans AS (
    SELECT j.task_name,
           extract(epoch FROM s.at - d.at) * 1000 AS wait,
           extract(epoch FROM e.at - s.at) * 1000 AS run
    FROM procrastinate_jobs j
    JOIN procrastinate_events d ON d.job_id = j.id AND d.type = 'deferred'
    JOIN procrastinate_events s ON s.job_id = j.id AND s.type = 'started'
    JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'succeeded'
)
SELECT task_name,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY wait),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY wait),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY run),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY run)
FROM spans GROUP BY task_name ORDER BY task_name
"""


# -- the report ----------------------------------------------------------------------------------


def _fmt(value: Any, width: int) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "NO"
    elif isinstance(value, float):
        text = f"{value:.0f}" if value >= 100 else f"{value:.1f}"
    else:
        text = str(value)
    return text.rjust(width)


def table(results: list[dict[str, Any]]) -> str:
    head = (
        f"{'scenario':<14}{'events':>7}{'ev/s':>8}{'POST p50':>10}{'p99 ms':>8}"
        f"{'reply p50':>11}{'p99 ms':>8}{'once':>6}{'order':>7}{'dup':>5}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        post = r.get("post_ms", {})
        reply = r.get("reply_ms", {})
        lines.append(
            f"{r['scenario']:<14}{_fmt(r.get('events'), 7)}{_fmt(r.get('throughput_eps'), 8)}"
            f"{_fmt(post.get('p50'), 10)}{_fmt(post.get('p99'), 8)}"
            f"{_fmt(reply.get('p50'), 11)}{_fmt(reply.get('p99'), 8)}"
            f"{_fmt(r.get('exactly_once'), 6)}{_fmt(r.get('order_ok'), 7)}"
            f"{_fmt(r.get('duplicate_replies'), 5)}"
        )
    return "\n".join(lines)


def cpu_table(results: list[dict[str, Any]], nproc: int | None) -> str:
    names = ("gunicorn", "workers", "postgres", "graph", "client", "other", "machine")
    head = f"{'cores used':<14}" + "".join(f"{n:>10}" for n in names)
    lines = [head, "-" * len(head)]
    for r in results:
        cpu = r.get("cpu_cores") or {}
        lines.append(f"{r['scenario']:<14}" + "".join(_fmt(cpu.get(n), 10) for n in names))
    if nproc:
        lines.append(
            f"(machine: every process, {nproc} = all cores busy; other: processes not started "
            "by this run)"
        )
    return "\n".join(lines)


# -- the command ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Bounded load test of the webhook: gunicorn inline and queued workers, "
        "checked for exactly-once and per-user order.",
    )
    parser.add_argument("--quick", action="store_true", help="a smaller load (under a minute)")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, from: {', '.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument("--users", type=int, help="users in the timed part")
    parser.add_argument("--messages", type=int, help="messages per user")
    parser.add_argument("--concurrency", type=int, help="lanes posting at once (16)")
    parser.add_argument("--rate", type=float, help="offered events/s (default: unthrottled)")
    parser.add_argument("--web-workers", type=int, help="gunicorn workers (4)")
    parser.add_argument("--worker-class", help="gunicorn worker class (sync)")
    parser.add_argument("--worker-concurrency", type=int, help="jobs per queue worker (4)")
    parser.add_argument(
        "--gunicorn-args", default="", help="more gunicorn options, e.g. '--threads 4'"
    )
    parser.add_argument(
        "--turn-action", choices=("none", "typing_on", "mark_seen"), help="[messenger] option"
    )
    parser.add_argument("--timeout", type=float, help="seconds per scenario for the load")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON ({RESULTS})")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and its logs")
    return parser.parse_args(argv)


def _install_signal_handlers() -> None:
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    # Started in the background by a shell, SIGINT is ignored: Ctrl-C semantics regardless.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    load = QUICK if args.quick else Load()
    overrides = {
        "users": args.users,
        "messages": args.messages,
        "concurrency": args.concurrency,
        "rate": args.rate,
        "turn_action": args.turn_action,
        "scenario_timeout": args.timeout,
    }
    load = replace(load, **{k: v for k, v in overrides.items() if v is not None})
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenarios: {unknown}; known: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    scenarios = []
    for name in names:
        scenario = SCENARIOS[name]
        changes = {
            "web_workers": args.web_workers,
            "web_worker_class": args.worker_class,
            "worker_concurrency": args.worker_concurrency,
            "gunicorn_args": tuple(shlex.split(args.gunicorn_args)),
        }
        scenarios.append(replace(scenario, **{k: v for k, v in changes.items() if v}))

    _install_signal_handlers()
    began = time.monotonic()
    results: list[dict[str, Any]] = []
    report: dict[str, Any] = {}
    with Harness(postgres=any(s.needs_postgres for s in scenarios), keep=args.keep) as harness:
        machine = harness.machine()
        print(
            f"{machine['nproc']} cores ({machine['cpu_model']}), PostgreSQL "
            f"{machine.get('postgresql', '-')}; {load.users} users x {load.messages} messages "
            f"per scenario, {load.concurrency} lanes"
        )
        for scenario in scenarios:
            result = harness.run(scenario, load)
            results.append(result)
            status = "ok" if result["ok"] else "FAILED:\n" + "\n".join(result["problems"])
            if result["log_errors"]:
                status += f" ({len(result['log_errors'])} error lines logged, see the JSON)"
            print(
                f"  {scenario.name}: {result.get('throughput_eps', '-')} ev/s, "
                f"{result['seconds']} s, {status}",
                flush=True,
            )
        if harness.keep:
            print(f"logs and configs kept in {harness.workdir}")
        report = {
            "benchmark": "webhook_load",
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "quick": args.quick,
            "machine": machine,
            "load": asdict(load),
            "results": results,
            "seconds": round(time.monotonic() - began, 1),
        }
    bare = next((r for r in results if r["scenario"] == "bare" and r["ok"]), None)
    if bare is not None and bare.get("throughput_eps"):
        for r in results:
            if r is not bare and r.get("throughput_eps"):
                r["throughput_vs_bare"] = round(r["throughput_eps"] / bare["throughput_eps"], 3)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(table(results))
    print()
    print(cpu_table(results, report["machine"].get("nproc")))
    print(f"\n{report['seconds']} s in all; results in {args.output}")
    failed = [r["scenario"] for r in results if not r["ok"]]
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as stop:  # every process started was stopped on the way out
        print(f"\ninterrupted ({str(stop) or 'Ctrl-C'}); stopped everything this run started")
        sys.exit(130)
