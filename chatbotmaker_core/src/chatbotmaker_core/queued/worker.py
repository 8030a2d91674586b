"""``chatbotmaker worker``: threads that run the queue's jobs, and rescue stalled ones.

A worker is a job loop (``runner.py``: one thread fetches and settles jobs, a pool of
``concurrency`` threads runs them), a thread that LISTENs for new jobs and nudges the loop, and
one that keeps the worker's heartbeat and rescues stalled jobs.

A worker killed mid-turn leaves its jobs in ``doing``; the turn's transaction died with it, so
nothing of it was committed. Every ``check_interval`` seconds each worker retries the jobs of
workers silent for ``stalled_after`` seconds; the retried turn finds its message id unclaimed and
runs once.

Each thread has its own connection and reconnects, every ``RESTART_DELAY`` seconds, when the
database goes away (a restart, a failover); only SIGINT and SIGTERM end :func:`work` (with
``wait = false``, an empty queue too). The jobs, their statuses and their events are
procrastinate's (``jobs.py``).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..errors import ConfigError, did_you_mean
from ..ranges import Range
from ..storable import describe
from . import QUEUE, Queue, jobs
from .pools import is_connection_error
from .runner import RESTART_DELAY, JobLoop

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerSettings:
    """The ``[worker]`` table of the config."""

    concurrency: int = 4  # jobs run at once, each in a thread of the worker's pool
    heartbeat_interval: float = 5.0
    stalled_after: float = 30.0
    check_interval: float = 10.0
    wait: bool = True  # keep waiting for jobs; False stops once the queue is empty
    #: the most a job waits once it can run. A user's next event becomes runnable when the
    #: previous one ends, which sends no notification: without polling it would wait
    #: procrastinate's default of 5 s.
    poll_interval: float = 0.5

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ConfigError("; ".join(problems), problems)

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> WorkerSettings:
        """The settings of a ``[worker]`` table: every unknown key, wrong type and value out
        of range reported at once (one line each in ``ConfigError.problems``)."""
        known = [f.name for f in fields(cls)]
        problems = [
            f"[worker] unknown option {key!r}{did_you_mean(key, known)}; known: {', '.join(known)}"
            for key in table
            if key not in known
        ]
        try:
            settings = cls(**{key: value for key, value in table.items() if key in known})
        except ConfigError as error:
            problems.extend(error.problems)
        if problems:
            raise ConfigError("; ".join(problems), problems)
        return settings


#: [worker] option -> its range (``wait`` is a boolean)
WORKER_RANGES = {
    "concurrency": Range(1, why="jobs run at once"),
    "heartbeat_interval": Range(0, exclusive=True, why="seconds"),
    "stalled_after": Range(0, exclusive=True, why="seconds"),
    "check_interval": Range(0, exclusive=True, why="seconds"),
    "poll_interval": Range(0, exclusive=True, why="seconds"),
}


def _problems(settings: WorkerSettings) -> list[str]:
    problems = []
    for key, allowed in WORKER_RANGES.items():
        value = getattr(settings, key)
        integer = key == "concurrency"
        if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
            kind = "an integer" if integer else "a number"
            problems.append(f"[worker] {key} must be {kind}, got {value!r}")
            continue
        problem = allowed.problem("worker", key, value)
        if problem:
            problems.append(problem)
    if not isinstance(settings.wait, bool):
        problems.append(f"[worker] wait must be true or false, got {settings.wait!r}")
    if not problems and settings.stalled_after <= settings.heartbeat_interval:
        problems.append(
            f"[worker] stalled_after = {settings.stalled_after!r} must be more than "
            f"heartbeat_interval = {settings.heartbeat_interval!r}, or the jobs of live "
            f"workers would be retried as stalled"
        )
    return problems


class Worker:
    """One ``chatbotmaker worker`` process: its threads, its worker row, its stop."""

    def __init__(self, queue: Queue, settings: WorkerSettings) -> None:
        self.queue = queue
        self.settings = settings
        #: set by SIGINT or SIGTERM, or by an empty queue when ``wait`` is false: the job
        #: threads finish their running jobs and end
        self.stopping = threading.Event()
        self.worker_id: int | None = None
        #: the job loop waits on it; a job ending, a job inserted and a stop notify it
        self.wake = threading.Condition()
        self.nudged = False  # a job was inserted since the loop last looked
        self._conns: dict[str, Any] = {}

    # -- waiting for work --------------------------------------------------------------------

    def _listen(self) -> None:
        """LISTEN for procrastinate's job-inserted notifications; each nudges the job loop."""
        while not self.stopping.is_set():
            try:
                conn = self.connection("listen")
                conn.execute(jobs.listen_channel(QUEUE))
                while not self.stopping.is_set():
                    for _ in conn.notifies(timeout=1.0):
                        with self.wake:
                            self.nudged = True
                            self.wake.notify_all()
            except Exception as error:  # noqa: BLE001 - reconnect; the loop polls meanwhile
                self.lost("listen", error)

    # -- heartbeat and stalled jobs ----------------------------------------------------------

    def _register(self) -> None:
        """A worker row of our own (procrastinate's ``procrastinate_workers``)."""
        while not self.stopping.is_set():
            try:
                row = self.connection("keep").execute(jobs.REGISTER).fetchone()
                self.worker_id = int(row[0])
                return
            except Exception as error:  # noqa: BLE001 - the database may be starting
                self.lost("keep", error)

    def _keep(self) -> None:
        """Every ``heartbeat_interval``: the heartbeat (a new worker row when ours was pruned
        while the database was out of reach); every ``check_interval``: stalled jobs."""
        settings = self.settings
        next_check = 0.0
        while not self.stopping.wait(min(settings.heartbeat_interval, settings.check_interval)):
            try:
                conn = self.connection("keep")
                beat = conn.execute(jobs.HEARTBEAT, {"worker": self.worker_id})
                if beat.rowcount == 0:
                    log.warning(
                        "worker %s was pruned as stalled; registering again", self.worker_id
                    )
                    self.worker_id = int(conn.execute(jobs.REGISTER).fetchone()[0])
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + settings.check_interval
                    self._retry_stalled(conn)
            except Exception as error:  # noqa: BLE001 - the database may be restarting
                self.lost("keep", error)

    def _retry_stalled(self, conn: Any) -> None:
        seconds = self.settings.stalled_after
        rows = conn.execute(jobs.RETRY_STALLED, {"queue": QUEUE, "seconds": seconds}).fetchall()
        for job_id, task, lock in rows:
            log.warning("retrying stalled job %s (%s, lock %s)", job_id, task, lock)
        conn.execute(jobs.PRUNE_WORKERS, {"seconds": seconds})

    # -- connections -------------------------------------------------------------------------

    def connection(self, name: str) -> Any:
        """The autocommit psycopg connection of the worker's thread ``name`` (``jobs``,
        ``listen``, ``keep``), opened on first use and again after :meth:`lost`."""
        conn = self._conns.get(name)
        if conn is None or conn.closed:
            import psycopg

            conn = self._conns[name] = psycopg.connect(self.queue.dsn, autocommit=True)
        return conn

    def lost(self, name: str, error: BaseException, *, through_stop: bool = False) -> None:
        """Log the error of thread ``name`` (the database's first line only: SQLAlchemy's
        messages quote parameters, users' texts among them), drop its connection and wait
        ``RESTART_DELAY`` before it tries again; a stop cuts the wait short, unless
        ``through_stop`` (the job loop: it still has jobs to record)."""
        if is_connection_error(error):
            log.warning(
                "%s: database connection lost (%s); again in %.1fs",
                name,
                describe(error),
                RESTART_DELAY,
            )
        else:
            log.error(
                "%s: unexpected error (%s); again in %.1fs",
                name,
                describe(error),
                RESTART_DELAY,
                exc_info=error,  # its statements bind ids, never users' texts
            )
        conn = self._conns.pop(name, None)
        if conn is not None:
            conn.close()
        if through_stop:
            time.sleep(RESTART_DELAY)
        else:
            self.stopping.wait(RESTART_DELAY)

    # -- the process -------------------------------------------------------------------------

    def run(self) -> None:
        """Run until SIGINT or SIGTERM; with ``wait=False``, until no job is left, including
        the delivery jobs that turns defer and the retries of failing jobs."""
        installed = _install_signals(self._on_signal)
        try:
            self._register()
            side = [
                threading.Thread(target=self._listen, name="listen", daemon=True),
                threading.Thread(target=self._keep, name="keep", daemon=True),
            ]
            loop = threading.Thread(target=JobLoop(self).run, name="jobs")
            for thread in [*side, loop]:
                thread.start()
            while loop.is_alive():
                loop.join(0.2)  # in slices: the main thread must see signals
            self.stopping.set()
            with self.wake:
                self.wake.notify_all()
            for thread in side:
                thread.join(5)
            self._unregister()
        finally:
            _restore_signals(installed)

    def _unregister(self) -> None:
        try:
            self.connection("keep").execute(jobs.UNREGISTER, {"worker": self.worker_id})
        except Exception as error:  # noqa: BLE001 - its row goes when pruned as stalled
            log.warning("could not unregister worker %s: %s", self.worker_id, error)
        for conn in list(self._conns.values()):
            conn.close()
        self._conns.clear()

    def _on_signal(self, signum: int, frame: Any) -> None:
        log.warning("stop requested; finishing the running jobs (signal again to force)")
        self.stopping.set()
        with self.wake:
            self.wake.notify_all()
        for number in SIGNALS:  # a second signal has its default effect
            signal.signal(number, signal.SIG_DFL)


SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _install_signals(handler: Any) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {number: signal.signal(number, handler) for number in SIGNALS}


def _restore_signals(installed: dict[int, Any]) -> None:
    for number, previous in installed.items():
        signal.signal(number, previous)


def work(queue: Queue, settings: WorkerSettings) -> None:
    """Run a worker in this process (see :meth:`Worker.run`)."""
    Worker(queue, settings).run()


def run_worker(queue: Queue, settings: WorkerSettings) -> None:
    queue.apply_schema()
    work(queue, settings)
