"""One thread of a queue worker: fetch a batch of jobs, run them, settle them, repeat.

A batch costs two round trips whatever its size: the fetch marks up to ``batch`` runnable jobs
``doing`` (at most one per user), and one statement marks the jobs that ran succeeded together
with the fallback delivery jobs whose replies were sent directly. procrastinate's worker spent a
fetch and a finish per job, and an asyncio hop to a thread for each, which together cost as much
as the turn (``docs/decisions.md``, "Queued mode: a batched worker").

When the database goes away, the thread keeps what it still has to record (which jobs ran,
which failed), reconnects every ``RESTART_DELAY`` seconds, and records it once the database
answers; a job whose end is recorded by nobody (the process died) is retried by another worker
once this one's heartbeat is stale.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import QUEUE, jobs
from .pools import is_connection_error

if TYPE_CHECKING:
    from .worker import Worker

log = logging.getLogger("chatbotmaker_core.queued.worker")

RESTART_DELAY = 1.0  # seconds between attempts to reconnect to a database that went away


@dataclass
class Outcomes:
    """What a batch did, until the database has recorded it."""

    ran: list[int] = field(default_factory=list)  # jobs that ran to their end
    settled: list[int] = field(default_factory=list)  # fallback delivery jobs made redundant
    others: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # retries, failures

    def __bool__(self) -> bool:
        return bool(self.ran or self.settled or self.others)


class JobRunner:
    """A worker thread's loop, on a connection of its own (autocommit)."""

    def __init__(self, worker: Worker, name: str) -> None:
        self.worker = worker
        self.queue = worker.queue
        self.settings = worker.settings
        self.name = name
        self.conn: Any = None
        self.outcomes = Outcomes()

    def run(self) -> None:
        worker = self.worker
        try:
            while not worker.stopping.is_set():
                try:
                    self._record()
                    batch = self._fetch()
                    if not batch:
                        if not self.settings.wait and not self._jobs_left():
                            worker.stopping.set()  # --burst: the queue is empty
                            break
                        worker.idle(self.settings.poll_interval)
                        continue
                    self._run_batch(batch)
                    self._record()
                except Exception as error:  # noqa: BLE001 - see _lost
                    self._lost(error)
        finally:
            if self.outcomes:
                log.warning(
                    "%s stopped before recording the end of jobs %s; they will be retried",
                    self.name,
                    self.outcomes.ran + [int(p["id"]) for _, p in self.outcomes.others],
                )
            self._close()

    # -- the database ----------------------------------------------------------------------

    def _connection(self) -> Any:
        if self.conn is None or self.conn.closed:
            import psycopg

            self.conn = psycopg.connect(self.queue.dsn, autocommit=True)
        return self.conn

    def _fetch(self) -> list[Any]:
        import psycopg

        params = {"queue": QUEUE, "n": self.settings.batch, "worker": self.worker.worker_id}
        try:
            return list(self._connection().execute(jobs.FETCH, params).fetchall())
        except psycopg.errors.UniqueViolation:
            # two fetches raced for one user's next job: the index kept it to one; try again
            return []

    def _record(self) -> None:
        """Record the outcomes of the last batch: one statement for the jobs that ran."""
        outcomes = self.outcomes
        if not outcomes:
            return
        conn = self._connection()
        for statement, params in list(outcomes.others):
            conn.execute(statement, params)
            outcomes.others.pop(0)
        if outcomes.ran or outcomes.settled:
            conn.execute(
                jobs.SUCCEED,
                {"ran": outcomes.ran, "settled": outcomes.settled, "worker": self.worker.worker_id},
            )
        self.outcomes = Outcomes()

    def _jobs_left(self) -> bool:
        return bool(self._connection().execute(jobs.JOBS_LEFT, {"queue": QUEUE}).fetchone()[0])

    def _lost(self, error: BaseException) -> None:
        if not is_connection_error(error):
            log.exception("%s: unexpected error; going on in %.1fs", self.name, RESTART_DELAY)
        else:
            log.warning(
                "%s: database connection lost (%s); reconnecting in %.1fs",
                self.name,
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__,
                RESTART_DELAY,
            )
        self._close()
        self.worker.stopping.wait(RESTART_DELAY)

    def _close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None

    # -- the jobs --------------------------------------------------------------------------

    def _run_batch(self, batch: list[Any]) -> None:
        for index, (job_id, task, args, attempts) in enumerate(batch):
            if self.worker.stopping.is_set():
                # asked to stop: the jobs not started go back to the queue as they were
                for rest in batch[index:]:
                    self.outcomes.others.append(
                        (jobs.RETRY, {"id": rest[0], "counted": 0, "delay": 0})
                    )
                return
            self._run(job_id, task, args, attempts)

    def _run(self, job_id: int, task: str, args: Any, attempts: int) -> None:
        started = time.perf_counter()
        try:
            settled = self.queue.run_job(task, jobs.job_arguments(args))
        except Exception as error:  # noqa: BLE001 - every job ends with an outcome
            self.outcomes.others.append(self._failed(job_id, task, attempts, error))
            return
        self.outcomes.ran.append(job_id)
        self.outcomes.settled.extend(settled)
        if log.isEnabledFor(logging.INFO):
            ms = (time.perf_counter() - started) * 1000
            log.info("job %s[%d] succeeded in %.1f ms", task, job_id, ms)

    def _failed(
        self, job_id: int, task: str, attempts: int, error: BaseException
    ) -> tuple[str, dict[str, Any]]:
        """A retry, or parking as failed once the job has had its runs. A job cut by the
        database going away is retried without counting the run: it did not fail, it could
        not run."""
        what = f"{type(error).__name__}: {error}".strip().splitlines()[0]
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
