"""The statements of queued mode on procrastinate's tables, each one round trip.

The jobs are procrastinate's (its schema, its statuses, its triggers record every event, and
``procrastinate`` tools and ``chatbotmaker jobs`` read and retry them), but the hot path writes
plain SQL instead of going through procrastinate's Python: deferring a job was a third of the
webhook's time, and a worker spent as long in procrastinate's fetch, finish and settle round
trips as in the turn (``docs/decisions.md``, "Queued mode: a batched worker"). What the SQL
keeps of procrastinate's rules:

* a job runs only when no job of its ``lock`` is ``doing`` and none of its lock is older (or of
  a higher priority) and still ``todo``: one job per user at a time, oldest first;
* the unique index on ``lock`` where ``status = 'doing'`` stays the last word on that rule;
* ``attempts`` counts the runs that ended, ``worker_id`` names the worker running a job, and a
  job whose worker stopped sending heartbeats is retried by another.
"""

from __future__ import annotations

from typing import Any

#: one job into the queue; the insert trigger notifies the workers listening on its queue. A
#: job due now has no ``scheduled_at``, as procrastinate defers it (a scheduled one costs one
#: more trigger and event row).
INSERT = (
    "INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, args, scheduled_at) "
    "VALUES (%(queue)s, %(task)s, %(priority)s, %(lock)s, %(args)s, "
    "CASE WHEN %(delay)s::float > 0 THEN now() + make_interval(secs => %(delay)s::float) END) "
    "RETURNING id"
)

#: A turn's replies, staged in the turn's transaction. When the user still has delivery jobs
#: waiting (a worker died before delivering them), those are made due now and this one is due
#: at once too, behind them; otherwise it is the fallback of the worker's own delivery, due in
#: ``fallback`` seconds (NULL: due now). Returns the job and whether it is a fallback.
STAGE = (
    "WITH due AS (UPDATE procrastinate_jobs SET scheduled_at = now() "
    "  WHERE lock = %(lock)s AND status = 'todo' AND scheduled_at > now() RETURNING id), "
    "waiting AS (SELECT EXISTS (SELECT 1 FROM procrastinate_jobs "
    "  WHERE lock = %(lock)s AND status IN ('todo', 'doing')) "
    "  OR EXISTS (SELECT 1 FROM due) AS yes) "
    "INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, args, scheduled_at) "
    "SELECT %(queue)s, %(task)s, %(priority)s, %(lock)s, %(args)s, "
    "  CASE WHEN waiting.yes OR %(fallback)s::float IS NULL THEN NULL "
    "  ELSE now() + make_interval(secs => %(fallback)s::float) END FROM waiting "
    "RETURNING id, scheduled_at IS NOT NULL"
)

#: Up to ``n`` runnable jobs of the queue, marked ``doing`` for this worker: procrastinate's
#: fetch, for several jobs at once. Two jobs of one lock are never both taken: the later one
#: has an older job of its lock still ``todo``.
FETCH = (
    "WITH candidate AS ("
    " SELECT jobs.id FROM procrastinate_jobs AS jobs"
    " WHERE jobs.status = 'todo' AND jobs.queue_name = %(queue)s"
    "  AND (jobs.scheduled_at IS NULL OR jobs.scheduled_at <= now())"
    "  AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs AS other"
    "   WHERE jobs.lock IS NOT NULL AND other.lock = jobs.lock AND (other.status = 'doing'"
    "    OR (other.status = 'todo' AND (other.priority > jobs.priority"
    "     OR (other.priority = jobs.priority AND other.id < jobs.id)))))"
    " ORDER BY jobs.priority DESC, jobs.id ASC LIMIT %(n)s FOR UPDATE OF jobs SKIP LOCKED) "
    "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %(worker)s "
    "FROM candidate WHERE procrastinate_jobs.id = candidate.id "
    "RETURNING procrastinate_jobs.id, procrastinate_jobs.task_name, procrastinate_jobs.args, "
    "procrastinate_jobs.attempts"
)

#: The jobs a worker ran (still its own: a job retried as stalled meanwhile is left alone) and
#: the fallback delivery jobs whose replies it sent itself, succeeded in one statement.
SUCCEED = (
    "UPDATE procrastinate_jobs SET status = 'succeeded', attempts = attempts + 1 "
    "WHERE (id = ANY(%(ran)s) AND status = 'doing' "
    "  AND (worker_id = %(worker)s OR worker_id IS NULL)) "
    "OR (id = ANY(%(settled)s) AND status = 'todo')"
)

#: A delivery job whose replies met a failure that may pass (``delivery.RepliesPending``): it
#: keeps only the replies not sent yet, and a fallback job (``todo``) is due in ``delay``
#: seconds rather than at its fallback time; a running one is rescheduled by its RETRY.
KEEP_PENDING = (
    "UPDATE procrastinate_jobs SET args = jsonb_set(args, '{replies}', %(replies)s), "
    "scheduled_at = CASE WHEN status = 'todo' "
    "  THEN now() + make_interval(secs => %(delay)s::float) ELSE scheduled_at END "
    "WHERE id = %(id)s AND status IN ('todo', 'doing')"
)

#: a failed run with attempts left: ``todo`` again, due in ``delay`` seconds
RETRY = (
    "UPDATE procrastinate_jobs SET status = 'todo', attempts = attempts + %(counted)s, "
    "worker_id = NULL, scheduled_at = now() + make_interval(secs => %(delay)s::float) "
    "WHERE id = %(id)s AND status = 'doing'"
)

#: a failed run with no attempts left: parked as ``failed`` for ``chatbotmaker jobs --retry``
FAIL = (
    "UPDATE procrastinate_jobs SET status = 'failed', attempts = attempts + 1 "
    "WHERE id = %(id)s AND status = 'doing'"
)

REGISTER = "INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id"
HEARTBEAT = "UPDATE procrastinate_workers SET last_heartbeat = now() WHERE id = %(worker)s"
UNREGISTER = "DELETE FROM procrastinate_workers WHERE id = %(worker)s"

#: the ``doing`` jobs of workers silent for ``seconds`` (or pruned), made ``todo`` again; the
#: lost run counts as an attempt, as procrastinate's retry counts it
RETRY_STALLED = (
    "WITH stalled AS (SELECT job.id FROM procrastinate_jobs AS job "
    " LEFT JOIN procrastinate_workers AS w ON w.id = job.worker_id "
    " WHERE job.status = 'doing' AND job.queue_name = %(queue)s "
    "  AND (w.id IS NULL OR w.last_heartbeat < now() - make_interval(secs => %(seconds)s::float)) "
    " FOR UPDATE OF job SKIP LOCKED) "
    "UPDATE procrastinate_jobs SET status = 'todo', worker_id = NULL, scheduled_at = NULL, "
    "attempts = procrastinate_jobs.attempts + 1 FROM stalled "
    "WHERE procrastinate_jobs.id = stalled.id "
    "RETURNING procrastinate_jobs.id, procrastinate_jobs.task_name, procrastinate_jobs.lock"
)

#: the rows of workers silent for ``seconds`` (their jobs were retried first)
PRUNE_WORKERS = (
    "DELETE FROM procrastinate_workers "
    "WHERE last_heartbeat < now() - make_interval(secs => %(seconds)s::float)"
)

#: whether any job of the queue is waiting (scheduled or not) or running
JOBS_LEFT = (
    "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs "
    "WHERE queue_name = %(queue)s AND status IN ('todo', 'doing'))"
)


def listen_channel(queue: str) -> str:
    """The ``LISTEN`` statement for the notifications procrastinate's insert trigger sends."""
    return 'LISTEN "procrastinate_queue_v1#' + queue.replace('"', '""') + '"'


def job_arguments(args: Any) -> dict[str, Any]:
    """A job's ``args`` as a dict (psycopg decodes ``jsonb``; a text cast would not be)."""
    if isinstance(args, dict):
        return args
    import json

    return dict(json.loads(args))
