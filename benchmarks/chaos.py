"""A bounded chaos run of queued mode: load through gunicorn and queue workers while a scheduler
SIGKILLs workers and web processes, restarts PostgreSQL and makes the Graph API fail or stall.

    .venv/bin/python benchmarks/chaos.py                 # 20,000 events, 200 users, ~5 min
    .venv/bin/python benchmarks/chaos.py --short         # 1,000 events, 20 users, ~60 s (CI)
    .venv/bin/python benchmarks/chaos.py --events 5000 --users 50 --duration 120 --workers 3

Each user's messages are posted in order, one at a time (as Meta does for a user), and a
failed POST (5xx, a killed web process) is posted again until it gets its 200. Afterwards, the
verdict: every event handled exactly once (each user's counter equals its messages, the
handled-ids table holds every id), each user's turns in order (its replies carry n = 1, 2, ...
in the order they first arrived), every reply delivered (extra copies counted: replies are
delivered at least once), and no job left todo, doing or failed. The exit status is 1 when
any of these is violated; the figures go to ``benchmarks/results/chaos.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from load_bot.chaos_parts import ChaosGraph, Servers, post_until_ok
from load_bot.workload import Event, make_body, message_text

from devsupport.postgres import start_postgres

RESULTS = Path(__file__).resolve().parent / "results" / "chaos.json"
SHORT = {"events": 1000, "users": 20, "duration": 60.0}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Chaos run of queued mode, checked afterwards.")
    parser.add_argument("--short", action="store_true", help="1,000 events, 20 users, ~60 s")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=3, help="queue workers (2-4)")
    parser.add_argument("--faults", type=float, default=4.0, help="seconds between faults")
    parser.add_argument("--drain", type=float, default=180.0, help="seconds to wait afterwards")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.short:
        for key, value in SHORT.items():
            setattr(args, key, value)
    return args


def chaos(
    servers: Servers, graph: ChaosGraph, stop: threading.Event, every: float, rng: Any
) -> Counter[str]:
    """Inject one fault at random every ``every`` seconds until ``stop``; what was done."""
    done: Counter[str] = Counter()
    while not stop.wait(every * rng.uniform(0.5, 1.5)):
        servers.revive()
        fault = rng.choice(
            [
                "kill-worker",
                "kill-worker",
                "kill-web",
                "restart-postgres",
                "graph-fail",
                "graph-stall",
            ]
        )
        if fault == "kill-worker":
            servers.kill_worker(rng)
        elif fault == "kill-web" and not servers.kill_web_worker(rng):
            continue
        elif fault == "restart-postgres":
            servers.postgres.restart()
        elif fault == "graph-fail":
            graph.fail_for(rng.uniform(0.5, 2.0))
        elif fault == "graph-stall":
            graph.stall_for(rng.uniform(0.5, 2.0), delay=rng.uniform(0.5, 3.0))
        done[fault] += 1
        print(f"  chaos: {fault}", flush=True)
    return done


def verify(servers: Servers, graph: ChaosGraph, events: list[Event]) -> dict[str, Any]:
    """The verdict: exactly once, in order, every reply delivered, no job left behind."""
    from sqlalchemy import create_engine, text

    problems: list[str] = []
    expected: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        expected[event.user].append(event)
    engine = create_engine(servers.url)
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    per_user = max(args.events // args.users, 1)
    users = [f"{7100000000000000 + i}" for i in range(args.users)]
    events = [
        Event(u, n, f"m-{u}-{n}", message_text(n)) for n in range(1, per_user + 1) for u in users
    ]
    began = time.monotonic()
    with (
        start_postgres() as postgres,
        ChaosGraph() as graph,
        Servers(postgres, graph.url, args.workers) as servers,
    ):
        print(
            f"chaos: {len(events)} events, {args.users} users, {args.workers} workers, "
            f"~{args.duration:.0f} s; work folder {servers.workdir}",
            flush=True,
        )
        by_user: dict[str, list[Event]] = defaultdict(list)
        for event in events:
            by_user[event.user].append(event)
        stop = threading.Event()
        faults: Counter[str] = Counter()
        injector = threading.Thread(
            target=lambda: faults.update(chaos(servers, graph, stop, args.faults, rng))
        )
        injector.start()
        start = time.monotonic()
        acknowledged: list[Event] = []
        lanes = [
            threading.Thread(
                target=post_until_ok,
                args=(
                    servers.port,
                    servers.secret,
                    by_user[u],
                    start,
                    args.duration,
                    make_body,
                    start + args.duration + args.drain,
                    acknowledged,
                ),
                daemon=True,  # a signal ends the run; the servers are stopped on the way out
            )
            for u in users
        ]
        for lane in lanes:
            lane.start()
        for lane in lanes:
            lane.join()
        posted = time.monotonic() - start
        stop.set()
        injector.join()
        servers.revive()
        drained = graph.wait_for({e.reply for e in events}, args.drain)
        servers.wait_idle(args.drain)
        verdict = verify(servers, graph, events)
        verdict["web_restarts"] = servers.web_restarts
        if len(acknowledged) < len(events):
            verdict["problems"].insert(
                0, f"{len(events) - len(acknowledged)} events never got their 200 in time"
            )
        if not drained:
            verdict["problems"].insert(0, f"not every reply arrived within {args.drain:.0f} s")
    report = {
        "events": len(events),
        "users": args.users,
        "workers": args.workers,
        "posted_seconds": round(posted, 1),
        "seconds": round(time.monotonic() - began, 1),
        "faults": dict(faults),
        **verdict,
        "ok": not verdict["problems"],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "problems"}))
    for problem in verdict["problems"]:
        print(f"VIOLATION: {problem}")
    print("chaos verdict:", "ok" if report["ok"] else "FAILED")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    sys.exit(main())
