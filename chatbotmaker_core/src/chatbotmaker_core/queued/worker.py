"""``chatbotmaker worker``: a procrastinate worker that also rescues stalled jobs.

A worker killed mid-turn leaves its job in ``doing``; its transaction died with it, so nothing
of the turn was committed. Every worker sends heartbeats, and every ``check_interval`` seconds
looks for jobs whose worker has been silent for ``stalled_after`` seconds and retries them. The
retried turn finds its message id unclaimed and runs once.

When the database goes away (a restart, a failover), procrastinate's worker either stops on the
error, or goes on with its heartbeat or LISTEN task dead, or with a job whose end it could not
record still ``doing``. So :func:`work` supervises it: after a database error, or when its
connection pool saw a connection break, it stops the procrastinate worker gracefully and
starts a new one, every ``RESTART_DELAY`` seconds until the database answers. The old worker's
unfinished jobs are then retried as stalled jobs. Only SIGINT and SIGTERM end :func:`work`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from procrastinate.exceptions import ConnectorException

from ..errors import ConfigError, did_you_mean
from ..ranges import Range
from . import QUEUE, Queue

log = logging.getLogger(__name__)

RESTART_DELAY = 1.0  # seconds between attempts to restart a worker that lost the database


@dataclass(frozen=True)
class WorkerSettings:
    """The ``[worker]`` table of the config."""

    concurrency: int = 4
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


async def _retry_stalled(queue: Queue, settings: WorkerSettings) -> None:
    manager = queue.app.job_manager
    while True:
        await asyncio.sleep(settings.check_interval)
        try:
            stalled = await manager.get_stalled_jobs(
                queue=QUEUE, seconds_since_heartbeat=settings.stalled_after
            )
        except Exception:  # noqa: BLE001 - the database may be restarting; try again later
            log.exception("could not check for stalled jobs")
            continue
        for job in stalled:
            log.warning("retrying stalled job %s (%s, lock %s)", job.id, job.task_name, job.lock)
            try:
                await manager.retry_job(job)
            except Exception as error:  # noqa: BLE001 - e.g. it ended meanwhile
                log.warning("could not retry stalled job %s: %s", job.id, error.__cause__ or error)


class _Supervisor:
    """Why the running procrastinate worker is being stopped: SIGINT or SIGTERM (``stopping``:
    finish the running jobs, then end) or a broken database connection (``restarting``)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)
    LOST = ("connections_lost", "returns_bad", "connections_errors")  # pool stats counters

    def __init__(self) -> None:
        self.stopping = False
        self.restarting = False
        self.runner: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()
        self._installed: list[int] = []
        for signum in self.SIGNALS:
            try:
                self._loop.add_signal_handler(signum, self._on_signal)
            except (RuntimeError, ValueError, NotImplementedError):  # not the main thread
                continue
            self._installed.append(signum)

    def _on_signal(self) -> None:
        log.warning("stop requested; finishing the running jobs (signal again to force)")
        self.stopping = True
        self.uninstall()  # a second signal has its default effect
        self._stop_runner()

    async def watch(self, queue: Queue, interval: float) -> None:
        """Restart the worker when its pool saw a connection break or fail to open."""
        pool = queue.app.connector.pool
        while True:
            await asyncio.sleep(interval)
            lost = {key: n for key, n in pool.pop_stats().items() if key in self.LOST and n}
            if lost and not self.restarting and not self.stopping:
                log.warning("database connection lost (%s); restarting the worker", lost)
                self.restarting = True
                self._stop_runner()

    def _stop_runner(self) -> None:
        if self.runner is not None:
            self.runner.cancel()  # procrastinate then stops gracefully: running jobs finish

    def uninstall(self) -> None:
        for signum in self._installed:
            self._loop.remove_signal_handler(signum)
        self._installed = []


async def work(queue: Queue, settings: WorkerSettings) -> None:
    """Run the worker until SIGINT or SIGTERM; with ``wait=False``, until no job is left,
    including the delivery jobs that turns defer and the retries of failing jobs."""
    async with queue.app.open_async():
        supervisor = _Supervisor()
        side_tasks = [
            asyncio.create_task(_retry_stalled(queue, settings)),
            asyncio.create_task(supervisor.watch(queue, settings.heartbeat_interval)),
        ]
        try:
            while not supervisor.stopping:
                supervisor.restarting = False
                queue.app.connector.pool.pop_stats()
                supervisor.runner = asyncio.create_task(
                    queue.app.run_worker_async(
                        queues=[QUEUE],
                        concurrency=settings.concurrency,
                        wait=settings.wait,
                        update_heartbeat_interval=settings.heartbeat_interval,
                        stalled_worker_timeout=settings.stalled_after,
                        fetch_job_polling_interval=settings.poll_interval,
                        install_signal_handlers=False,  # the supervisor's: see _Supervisor
                    )
                )
                try:
                    await supervisor.runner
                except ConnectorException as error:
                    log.warning(
                        "worker stopped on a database error (%s); restarting in %.1fs",
                        error.__cause__ or error,
                        RESTART_DELAY,
                    )
                    await asyncio.sleep(RESTART_DELAY)
                    continue
                except asyncio.CancelledError:
                    if not (supervisor.stopping or supervisor.restarting):
                        raise  # work() itself was cancelled
                    continue
                finally:
                    supervisor.runner = None
                if supervisor.stopping:
                    break
                if settings.wait:  # it stopped by itself
                    log.warning("worker stopped; restarting in %.1fs", RESTART_DELAY)
                    await asyncio.sleep(RESTART_DELAY)
                elif not await _jobs_left(queue):
                    break
                else:
                    await asyncio.sleep(0.05)
        finally:
            supervisor.uninstall()
            for task in side_tasks:
                task.cancel()
            for task in side_tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _jobs_left(queue: Queue) -> bool:
    manager = queue.app.job_manager
    return any(
        [
            *await manager.list_jobs_async(queue=QUEUE, status="todo"),
            *await manager.list_jobs_async(queue=QUEUE, status="doing"),
        ]
    )


def run_worker(queue: Queue, settings: WorkerSettings) -> None:
    queue.apply_schema()
    asyncio.run(work(queue, settings))
