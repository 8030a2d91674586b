"""The job loop of a queue worker: one thread fetches and settles, a pool of threads runs jobs.

One fetching thread per worker process, on a connection of its own: each round it records what
the jobs that ended did (one statement marks every job that ran succeeded, together with the
fallback delivery jobs whose replies were sent directly) and takes as many runnable jobs as
threads are free (one statement, at most one job per user). procrastinate's worker spent a fetch
and a finish per job, each from every one of its tasks, and an asyncio hop to a thread per job,
which together cost as much as the turn (``docs/decisions.md``, "Queued mode: a batched worker").

A job's user stays locked (its job ``doing``) until its end is recorded, so a user's next event
never starts before the replies of the one before went out. When the database goes away, the
fetching thread keeps what it still has to record, reconnects every ``RESTART_DELAY`` seconds
and records it once the database answers; a job whose end is recorded by nobody (the process
died) is retried by another worker once this one's heartbeat is stale.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..storable import describe
from . import QUEUE, jobs
from .pools import is_connection_error

if TYPE_CHECKING:
    from .worker import Worker

log = logging.getLogger("chatbotmaker_core.queued.worker")

RESTART_DELAY = 1.0  # seconds between attempts to reconnect to a database that went away
GATHER = 0.006  # seconds the loop may wait, once woken, for running jobs to end


@dataclass
class Outcomes:
    """What ended jobs did, until the database has recorded it."""

    ran: list[int] = field(default_factory=list)  # jobs that ran to their end
    settled: list[int] = field(default_factory=list)  # fallback delivery jobs made redundant
    others: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # retries, failures

    def __bool__(self) -> bool:
        return bool(self.ran or self.settled or self.others)

    def take(self, other: Outcomes) -> None:
        self.ran.extend(other.ran)
        self.settled.extend(other.settled)
        self.others.extend(other.others)

    def job_ids(self) -> list[int]:
        return self.ran + [int(params["id"]) for _, params in self.others]


class JobLoop:
    """Fetch, hand out, settle: the worker process's loop (see the module's docstring)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.queue = worker.queue
        self.settings = worker.settings
        self.running = 0  # jobs handed to the pool and not ended
        self.ended = Outcomes()  # written by the job threads, under ``worker.wake``
        self.unrecorded = Outcomes()  # taken from ``ended``, not yet recorded

    def run(self) -> None:
        worker, settings = self.worker, self.settings
        pool = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="job")
        try:
            while True:
                with worker.wake:
                    self.unrecorded.take(self.ended)
                    self.ended = Outcomes()
                    stopping = worker.stopping.is_set()
                    free = 0 if stopping else settings.concurrency - self.running
                    if stopping and self.running == 0 and not self.unrecorded:
                        break
                try:
                    batch = self._round(free)
                except Exception as error:  # noqa: BLE001 - reconnect, then record and go on
                    worker.lost("jobs", error, through_stop=True)
                    if stopping and self.running == 0:
                        break  # what is left is retried as stalled by other workers
                    continue
                for job in batch:
                    with worker.wake:
                        self.running += 1
                    pool.submit(self._run, *job)
                if free and len(batch) == free:
                    continue  # every free thread got a job: more may be runnable
                if batch or free == 0 and not stopping:
                    # nothing more runnable now, or every thread busy: until something wakes us
                    self._wait(settings.poll_interval)
                    continue
                if not settings.wait and self.running == 0:
                    try:
                        left = self._jobs_left()
                    except Exception as error:  # noqa: BLE001 - reconnect, then go on
                        worker.lost("jobs", error, through_stop=True)
                        continue
                    if not left:
                        worker.stopping.set()  # --burst: the queue is empty
                        continue
                self._wait(settings.poll_interval)
        finally:
            pool.shutdown(wait=True)
            if self.unrecorded or self.ended:
                self.unrecorded.take(self.ended)
                log.warning(
                    "stopped before recording the end of jobs %s; they will be retried",
                    self.unrecorded.job_ids(),
                )

    def _wait(self, timeout: float) -> None:
        """Until a job ends, a job is inserted (the listener's nudge) or ``timeout`` passes."""
        worker = self.worker
        with worker.wake:
            if not (self.ended or worker.nudged):
                # a stop notifies too; once stopping, only a job ending is worth a round
                if not worker.wake.wait(timeout):
                    return
            worker.nudged = False
            # Under load, jobs end one after the other: waiting a moment for those still
            # running (not longer than GATHER) lets one round settle them all and fetch for
            # every free thread. An idle worker woken by an insert fetches at once.
            deadline = time.monotonic() + GATHER
            while self.running and not worker.stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                worker.wake.wait(left)

    # -- the database ----------------------------------------------------------------------

    def _round(self, free: int) -> list[Any]:
        """Record what ended, then take up to ``free`` jobs: one round trip when both."""
        import psycopg

        conn = self.worker.connection("jobs")
        outcomes = self.unrecorded
        for statement, params in list(outcomes.others):
            conn.execute(statement, params)
            outcomes.others.pop(0)
        worker_id = self.worker.worker_id
        fetch = {"queue": QUEUE, "n": free, "worker": worker_id}
        succeed = {"ran": outcomes.ran, "settled": outcomes.settled, "worker": worker_id}
        try:
            if outcomes.ran or outcomes.settled:
                with conn.pipeline():
                    conn.execute(jobs.SUCCEED, succeed)
                    cursor = conn.execute(jobs.FETCH, fetch) if free else None
                self.unrecorded = Outcomes()
            else:
                cursor = conn.execute(jobs.FETCH, fetch) if free else None
            return list(cursor.fetchall()) if cursor is not None else []
        except psycopg.errors.UniqueViolation:
            # two fetches raced for one user's next job: the index kept it to one; try again
            return []

    def _jobs_left(self) -> bool:
        return bool(
            self.worker.connection("jobs").execute(jobs.JOBS_LEFT, {"queue": QUEUE}).fetchone()[0]
        )

    # -- the jobs (in the pool's threads) --------------------------------------------------

    def _run(self, job_id: int, task: str, args: Any, attempts: int) -> None:
        started = time.perf_counter()
        ended = Outcomes()
        try:
            settled = self.queue.run_job(job_id, task, jobs.job_arguments(args))
        except Exception as error:  # noqa: BLE001 - every job ends with an outcome
            ended.others.append(self._failed(job_id, task, attempts, error))
        else:
            ended.ran.append(job_id)
            ended.settled.extend(settled)
            if log.isEnabledFor(logging.INFO):
                ms = (time.perf_counter() - started) * 1000
                log.info("job %s[%d] succeeded in %.1f ms", task, job_id, ms)
        with self.worker.wake:
            self.ended.take(ended)
            self.running -= 1
            self.worker.wake.notify_all()

    def _failed(
        self, job_id: int, task: str, attempts: int, error: BaseException
    ) -> tuple[str, dict[str, Any]]:
        """A retry, or parking as failed once the job has had its runs. A job cut by the
        database going away is retried without counting the run: it did not fail, it could
        not run."""
        what = describe(error)  # the database's first line: never a user's text
        if is_connection_error(error):
            log.warning("job %s[%d] cut by the database (%s); retrying", task, job_id, what)
            return jobs.RETRY, {"id": job_id, "counted": 0, "delay": RESTART_DELAY}
        runs = attempts + 1
        if runs < self.queue.max_attempts:
            delay = self.queue.retry_wait**runs
            log.warning(
                "job %s[%d] failed (run %d of %d: %s); retrying in %ss",
                task,
                job_id,
                runs,
                self.queue.max_attempts,
                what,
                delay,
            )
            return jobs.RETRY, {"id": job_id, "counted": 1, "delay": delay}
        log.error(
            "job %s[%d] failed %d times (%s); parked as failed: "
            "`chatbotmaker jobs --retry %d` runs it again",
            task,
            job_id,
            runs,
            what,
            job_id,
        )
        return jobs.FAIL, {"id": job_id}
