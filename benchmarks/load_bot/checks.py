"""The checks after a scenario: every event handled exactly once and each user's replies in
order, from the database and from what the fake Graph API received.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from load_bot.handwritten_db import read_state
from load_bot.scenarios import Scenario
from load_bot.workload import Body, Event

COUNTER = "count"  # the argument load_bot/rules.py counts in


def check(
    scenario: Scenario,
    database_url: str | None,
    events: list[Event],
    bodies: list[Body],
    records: list[tuple[float, str, str | None, str | None]],
    problems: list[str],
) -> dict[str, Any]:
    """Exactly once and in order, from the database and from what the Graph API received."""
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

    if scenario.mode == "handwritten":  # the hand-written contender's own tables
        assert database_url is not None
        rows, handled = read_state(database_url)
        failures, jobs, queue_ms = 0, {}, {}
    else:
        rows, handled, failures, jobs, queue_ms = _read_chatbotmaker(scenario, database_url)

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


def _read_chatbotmaker(scenario: Scenario, database_url: str | None) -> tuple[Any, ...]:
    """Counters, handled ids, delivery failures, and in queued mode the jobs and their
    timings, from chatbotmaker's tables."""
    from sqlalchemy import and_, func, select, text

    from chatbotmaker_core import Database

    jobs: dict[str, int] = {}
    queue_ms: dict[str, dict[str, float]] = {}
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
    return rows, handled, failures, jobs, queue_ms


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
