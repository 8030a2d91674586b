"""The verdict of ``benchmarks/chaos.py``, read once the load and the faults are over: every
event handled exactly once, each user's turns in order, every reply delivered (extra copies
counted), no job left behind."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

from devsupport.postgres_up import wait_accepting
from load_bot.chaos_parts import ChaosGraph, Servers
from load_bot.workload import Event

#: how long the verdict waits for PostgreSQL to accept connections before bringing it back
READY_WAIT = 30.0


def verify(servers: Servers, graph: ChaosGraph, events: list[Event]) -> dict[str, Any]:
    """The verdict: exactly once, in order, every reply delivered, no job left behind."""
    from sqlalchemy import create_engine, text

    problems: list[str] = []
    expected: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        expected[event.user].append(event)
    if not wait_accepting(servers.url, READY_WAIT):
        problems.append(
            f"PostgreSQL accepted no connection {READY_WAIT:.0f} s after the run (a harness "
            "fault: a restart left it down); started it again to read the verdict"
        )
        servers.postgres.ensure_running()
    engine = create_engine(servers.url, connect_args={"connect_timeout": 5})
    with engine.connect() as conn:
        counts = dict(
            conn.execute(
                text(
                    "SELECT u.fb_id, a.value FROM users u JOIN arguments a "
                    "ON a.user_id = u.id AND a.name = 'count'"
                )
            ).all()
        )
        handled = conn.execute(text("SELECT count(*) FROM chatbotmaker_handled_messages")).scalar()
        jobs = dict(
            conn.execute(
                text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status")
            ).all()
        )
    engine.dispose()
    counts = {u: json.loads(v) if isinstance(v, (str, bytes)) else v for u, v in counts.items()}
    wrong = {
        u: (counts.get(u), len(evs)) for u, evs in expected.items() if counts.get(u) != len(evs)
    }
    if wrong:
        problems.append(
            f"{len(wrong)} users' counters differ from their messages: "
            f"{dict(list(wrong.items())[:5])}"
        )
    if handled != len(events):
        problems.append(f"handled-ids table holds {handled} ids, {len(events)} events were sent")
    left = {s: n for s, n in jobs.items() if s in ("todo", "doing", "failed")}
    if left:
        problems.append(f"jobs left behind: {left}")
    arrivals = graph.arrivals()
    seen: dict[str, list[int]] = defaultdict(list)
    copies: Counter[str] = Counter()
    wanted = {e.reply for e in events}
    strangers = 0
    for recipient, reply in arrivals:
        if reply not in wanted:
            strangers += 1
            continue
        copies[reply] += 1
        if copies[reply] == 1:
            seen[recipient].append(int(reply.split(":")[1]))
    missing = len(wanted) - len(copies)
    if missing:
        problems.append(f"{missing} replies never reached the Graph API")
    if strangers:
        problems.append(f"{strangers} replies the bot should never have sent")
    disordered = [u for u, ns in seen.items() if ns != sorted(ns)]
    if disordered:
        problems.append(
            f"{len(disordered)} users got their replies out of order, e.g. "
            f"{disordered[0]}: {seen[disordered[0]][:12]}"
        )
    return {
        "problems": problems,
        "duplicate_replies": sum(n - 1 for n in copies.values()),
        "replies_received": len(arrivals),
        "jobs": jobs,
    }
