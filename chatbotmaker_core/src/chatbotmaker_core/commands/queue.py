"""``chatbotmaker worker`` and ``jobs``: the procrastinate queue of ``mode = "queued"``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from ..config import load_config
from ..errors import ChatbotmakerError

log = logging.getLogger(__name__)

#: why ``jobs --retry`` refuses a job in each status; only failed jobs are retried
NOT_RETRIABLE = {
    "todo": "it is already waiting for a worker (todo)",
    "doing": "a worker is running it now (doing); retrying it would run it twice",
    "succeeded": "it already succeeded",
    "cancelled": "it was cancelled",
    "aborting": "it is being aborted",
    "aborted": "it was aborted",
}


class UsageError(ChatbotmakerError):
    """A command-line value that is wrong only once the command knows more (exit 2)."""


def _queued_bot(config: str) -> Any:
    from ..bot import build_bot  # SQLAlchemy: imported when a command makes a bot

    bot = build_bot(config)
    if bot.queue is None:
        bot.database.dispose()
        raise ChatbotmakerError(f'{config}: this needs [bot] mode = "queued" (on PostgreSQL)')
    return bot


def run_worker(args: argparse.Namespace) -> int:
    from ..metrics import serve_for_worker
    from ..queued.worker import WorkerSettings, run_worker

    bot = _queued_bot(args.config)
    config = load_config(args.config)
    settings = WorkerSettings.from_table(config.get("worker", {}))
    if args.concurrency:
        settings = replace(settings, concurrency=args.concurrency)
    if args.burst:
        settings = replace(settings, wait=False)
    log.warning("worker for %s: concurrency %d", args.config, settings.concurrency)
    metrics = serve_for_worker(bot, config)  # [metrics] enabled: GET /metrics on its port
    try:
        run_worker(bot.queue, settings)
    finally:
        if metrics is not None:
            metrics.close()
    return 0


def job_statuses() -> list[str]:
    """procrastinate's job statuses (``todo``, ``doing``, ``failed``, ...)."""
    from ..queued import _procrastinate

    _procrastinate()  # the install hint when procrastinate is missing
    from procrastinate.jobs import Status

    return [status.value for status in Status]


def run_jobs(args: argparse.Namespace) -> int:
    statuses = job_statuses()
    if args.status not in statuses:
        raise UsageError(
            f"argument --status: {args.status!r} is not a job status; use one of "
            f"{', '.join(statuses)}"
        )
    bot = _queued_bot(args.config)
    refused = 0
    try:
        with bot.queue.sync_app.open():
            manager = bot.queue.sync_app.job_manager
            listed = manager.list_jobs(status=args.status)
            for job in listed:
                summary = json.dumps(job.task_kwargs)[:120]
                print(
                    f"{job.id}\t{job.status}\t{job.task_name}\t{job.lock}"
                    f"\tattempts={job.attempts}\t{summary}"
                )
            print(f"{len(listed)} {args.status} job{'s' if len(listed) != 1 else ''}")
            ids = [job.id for job in listed] if args.retry_all else (args.retry or [])
            for job_id in ids:
                found = manager.list_jobs(id=job_id)
                problem = _why_not_retriable(job_id, found[0].status if found else None)
                if problem:
                    print(f"error: {problem}", file=sys.stderr)
                    refused += 1
                    continue
                manager.retry_job_by_id(job_id, retry_at=datetime.now(timezone.utc))
                print(f"retried job {job_id}")
    finally:
        bot.database.dispose()
    return 1 if refused else 0


def _why_not_retriable(job_id: int, status: Any) -> str | None:
    """Why ``job_id`` cannot be retried, or ``None`` for a failed job."""
    if status is None:
        return f"cannot retry job {job_id}: no such job; `chatbotmaker jobs` lists the failed ones"
    value = getattr(status, "value", status)
    if value == "failed":
        return None
    reason = NOT_RETRIABLE.get(value, f"its status is {value}")
    return f"cannot retry job {job_id}: {reason}; only failed jobs can be retried"
