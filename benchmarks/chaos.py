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
import logging
import random
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from load_bot.chaos_parts import ChaosGraph, Progress, Servers, post_until_ok
from load_bot.chaos_verdict import verify
from load_bot.workload import Event, make_body, message_text

from devsupport.postgres import start_postgres

RESULTS = Path(__file__).resolve().parent / "results" / "chaos.json"
#: --short, for CI: its whole run, startup and teardown included, stays within ~5 minutes
SHORT = {"events": 1000, "users": 20, "duration": 60.0, "drain": 120.0, "limit": 240.0}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Chaos run of queued mode, checked afterwards.")
    parser.add_argument("--short", action="store_true", help="1,000 events, 20 users, ~60 s")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=3, help="queue workers (2-4)")
    parser.add_argument("--faults", type=float, default=4.0, help="seconds between faults")
    parser.add_argument("--drain", type=float, default=180.0, help="seconds to wait afterwards")
    parser.add_argument(
        "--stall", type=float, default=60.0, help="give up a wait once nothing moved for so long"
    )
    parser.add_argument(
        "--limit",
        type=float,
        help="seconds from the load's start to the verdict, at most "
        "(default: duration + 2 x drain)",
    )
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.short:
        for key, value in SHORT.items():
            setattr(args, key, value)
    if args.limit is None:
        args.limit = args.duration + 2 * args.drain
    return args


def chaos(
    servers: Servers,
    graph: ChaosGraph,
    stop: threading.Event,
    every: float,
    rng: Any,
    done: Counter[str],
) -> None:
    """Inject one fault at random every ``every`` seconds until ``stop``, counting each in
    ``done``. A fault that raises (a ``pg_ctl`` that failed and could not be recovered) is
    counted as ``fault-error`` and printed, and the faults go on: a dead injector would hide
    what it had done and leave nobody to bring the servers back."""
    while not stop.wait(every * rng.uniform(0.5, 1.5)):
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
        try:
            servers.revive()
        except Exception as error:  # noqa: BLE001 - reported, counted, and the run goes on
            _fault_error(done, "revive", error)
            continue
        try:
            if fault == "kill-worker":
                servers.kill_worker(rng)
            elif fault == "kill-web" and not servers.kill_web_worker(rng):
                continue
            elif fault == "restart-postgres":
                servers.postgres.restart()
            elif fault == "graph-fail":
                # up to longer than a reply's send retries: its delivery job sends it again
                graph.fail_for(rng.uniform(0.5, 6.0))
            elif fault == "graph-stall":
                graph.stall_for(rng.uniform(0.5, 2.0), delay=rng.uniform(0.5, 3.0))
        except Exception as error:  # noqa: BLE001 - reported, counted, and the run goes on
            _fault_error(done, fault, error)
            continue
        done[fault] += 1
        print(f"  chaos: {fault}", flush=True)


def _fault_error(done: Counter[str], what: str, error: Exception) -> None:
    done["fault-error"] += 1
    said = (str(error).strip().splitlines() or [""])[0]
    print(f"  chaos: {what} FAILED: {type(error).__name__}: {said}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # devsupport.postgres says when a restart failed and how the server was brought back
    logging.basicConfig(level=logging.WARNING, format="  %(name)s: %(message)s", stream=sys.stdout)
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
            f"~{args.duration:.0f} s (at most {args.limit:.0f} s before the verdict); "
            f"work folder {servers.workdir}",
            flush=True,
        )
        try:
            report = run(args, servers, graph, events, rng)
        except BaseException as error:  # a crash, or SIGTERM (a test's timeout): say why
            print(f"chaos run ended early ({type(error).__name__}: {error})", flush=True)
            print(servers.diagnostics(), flush=True)
            raise
        if not report["ok"]:
            print(servers.diagnostics(), flush=True)
    report = {
        "events": len(events),
        "users": args.users,
        "workers": args.workers,
        "seconds": round(time.monotonic() - began, 1),
        **report,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "problems"}))
    for problem in report["problems"]:
        print(f"VIOLATION: {problem}")
    print("chaos verdict:", "ok" if report["ok"] else "FAILED")
    return 0 if report["ok"] else 1


def run(
    args: argparse.Namespace,
    servers: Servers,
    graph: ChaosGraph,
    events: list[Event],
    rng: random.Random,
) -> dict[str, Any]:
    """The load, the faults, the drain and the verdict. Nothing waits blindly: the lanes, the
    drain and the wait for an idle queue give up once nothing progressed for ``--stall``
    seconds, and all of it ends within ``--limit`` seconds."""
    start = time.monotonic()
    deadline = start + args.limit
    by_user: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_user[event.user].append(event)
    stop = threading.Event()
    faults: Counter[str] = Counter()
    injector = threading.Thread(
        target=chaos, args=(servers, graph, stop, args.faults, rng, faults), daemon=True
    )
    progress = Progress(args.stall)
    acknowledged: list[Event] = []
    give_up = min(start + args.duration + args.drain, deadline)
    lanes = [
        threading.Thread(
            target=post_until_ok,
            args=(servers.port, servers.secret, evs, start, args.duration, make_body, give_up)
            + (acknowledged, progress),
            daemon=True,  # a signal ends the run; the servers are stopped on the way out
        )
        for evs in by_user.values()
    ]
    try:
        injector.start()
        for lane in lanes:
            lane.start()
        for lane in lanes:
            lane.join()
    finally:
        stop.set()
    posted = time.monotonic() - start
    problems: list[str] = []
    if progress.gave_up:
        problems.append(progress.gave_up)
    if len(acknowledged) < len(events):
        problems.append(f"{len(events) - len(acknowledged)} events never got their 200 in time")
    injector.join(max(deadline - time.monotonic(), 1.0))
    if injector.is_alive():
        problems.append("the fault injector was still busy with a fault at the deadline")
    try:
        servers.revive()
    except Exception as error:  # noqa: BLE001 - the verdict says so
        problems.append(f"could not bring the servers back after the faults: {error}")
    late = graph.wait_for(
        {e.reply for e in events}, min(time.monotonic() + args.drain, deadline), args.stall
    )
    idle = servers.wait_idle(min(time.monotonic() + args.drain, deadline), args.stall)
    verdict = verify(servers, graph, events)
    problems += [p for p in (late, idle) if p] + verdict.pop("problems")
    return {
        "posted_seconds": round(posted, 1),
        "faults": dict(faults),
        **verdict,
        "replies_sent_again": servers.replies_sent_again(),
        "web_restarts": servers.web_restarts,
        "problems": problems,
        "ok": not problems,
    }


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    sys.exit(main())
