"""``chatbotmaker worker``: a procrastinate worker that also rescues stalled jobs.

A worker killed mid-turn leaves its job in ``doing``; its transaction died with it, so nothing
of the turn was committed. Every worker sends heartbeats, and every ``check_interval`` seconds
looks for jobs whose worker has been silent for ``stalled_after`` seconds and retries them. The
retried turn finds its message id unclaimed and runs once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from . import QUEUE, Queue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerSettings:
    """The ``[worker]`` table of the config."""

    concurrency: int = 4
    heartbeat_interval: float = 5.0
    stalled_after: float = 30.0
    check_interval: float = 10.0
    wait: bool = True  # keep waiting for jobs; False stops once the queue is empty


async def _retry_stalled(queue: Queue, settings: WorkerSettings) -> None:
    manager = queue.app.job_manager
    while True:
        await asyncio.sleep(settings.check_interval)
        try:
            stalled = await manager.get_stalled_jobs(
                queue=QUEUE, seconds_since_heartbeat=settings.stalled_after
            )
            for job in stalled:
                log.warning(
                    "retrying stalled job %s (%s, lock %s)", job.id, job.task_name, job.lock
                )
                await manager.retry_job(job)
        except Exception:  # noqa: BLE001 - the database may be restarting; try again later
            log.exception("could not check for stalled jobs")


async def work(queue: Queue, settings: WorkerSettings) -> None:
    """Run the worker; with ``wait=False``, until no job is left, including the delivery jobs
    that turns defer and the retries of failing jobs."""
    async with queue.app.open_async():
        rescuer = asyncio.create_task(_retry_stalled(queue, settings))
        try:
            while True:
                await queue.app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=settings.concurrency,
                    wait=settings.wait,
                    update_heartbeat_interval=settings.heartbeat_interval,
                    stalled_worker_timeout=settings.stalled_after,
                    install_signal_handlers=True,
                )
                if settings.wait or not await _jobs_left(queue):
                    break
                await asyncio.sleep(0.05)
        finally:
            rescuer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await rescuer


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
