"""A bounded load test of the Facebook webhook, inline and queued, checked for exactly-once.

    .venv/bin/python benchmarks/webhook_load.py              # every scenario, a few minutes
    .venv/bin/python benchmarks/webhook_load.py --quick      # fewer events, under a minute
    .venv/bin/python benchmarks/webhook_load.py --scenarios inline-pg,queued-4 --users 200

Everything runs on 127.0.0.1 and is started and stopped here: a throwaway PostgreSQL cluster
(``devsupport.postgres``), a fake Graph API in its own process (``load_bot/graph_server.py``, a
single-threaded epoll server costing about 0.1 ms of CPU per request) that timestamps every Send
API call, and for each
scenario a fresh database, ``chatbotmaker init-db``, gunicorn serving
``chatbotmaker_core.web:app_from_env()`` and, in queued mode, ``chatbotmaker worker`` processes.
Two contenders run on the same gunicorn command for comparison: ``bare`` (a Flask view that
answers 200: the web stack's ceiling) and ``handwritten-pg``/``handwritten-sqlite`` (the same
work as inline, written by hand on the raw driver: ``load_bot/handwritten_app.py``).

The client posts signed, Meta-shaped bodies (``entry[].messaging[]``; a share of them batch
several events of several users, as entries or as messaging items) from ``--concurrency``
lanes. Each user belongs to one lane, and a lane posts its next body only after the previous
one got its 200, as Meta does for one page; so each user's messages are sent in order. A
5xx or a connection error is retried (bounded, with backoff) as Meta would, and a few bodies
already acknowledged are posted again later (redeliveries). The bot (``load_bot/rules.py``)
counts each user's messages and replies ``"<user>:<n>:<text>"``.

Measured per scenario: POST latency (first attempt to 200), reply latency (first attempt of
the event's POST to the Graph API receiving its reply), throughput (events / time from the
first POST to the last reply), and the CPU each component used meanwhile. Checked afterwards:
each user's counter equals the number of distinct message ids sent to it; the handled-ids table
holds exactly those ids; every expected reply reached the Graph API (extra copies, which
at-least-once delivery allows, are counted separately) and nothing else did; each user's
replies arrived with n = 1, 2, 3...; in queued mode no job failed or was left behind.

Results go to ``benchmarks/results/webhook_load.json``; the exit status is 1 when a check
failed. ``Harness``, ``Scenario`` and ``Load`` are importable for other benchmarks.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from load_bot.harness import Harness
from load_bot.report import cpu_table, table
from load_bot.scenarios import QUICK, SCENARIOS, Load, Scenario

__all__ = ["QUICK", "SCENARIOS", "Harness", "Load", "Scenario", "main"]

RESULTS = Path(__file__).resolve().parent / "results" / "webhook_load.json"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Bounded load test of the webhook: gunicorn inline and queued workers, "
        "checked for exactly-once and per-user order.",
    )
    parser.add_argument("--quick", action="store_true", help="a smaller load (under a minute)")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, from: {', '.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument("--users", type=int, help="users in the timed part")
    parser.add_argument("--messages", type=int, help="messages per user")
    parser.add_argument("--concurrency", type=int, help="lanes posting at once (16)")
    parser.add_argument("--rate", type=float, help="offered events/s (default: unthrottled)")
    parser.add_argument("--web-workers", type=int, help="gunicorn workers (4)")
    parser.add_argument("--worker-class", help="gunicorn worker class (sync)")
    parser.add_argument("--worker-concurrency", type=int, help="jobs per queue worker (4)")
    parser.add_argument(
        "--gunicorn-args", default="", help="more gunicorn options, e.g. '--threads 4'"
    )
    parser.add_argument(
        "--turn-action", choices=("none", "typing_on", "mark_seen"), help="[messenger] option"
    )
    parser.add_argument("--timeout", type=float, help="seconds per scenario for the load")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every scenario this many times, the order rotating each round; a scenario's "
        "figures are its median round's, a ratio the median of the rounds' ratios (1)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON ({RESULTS})")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and its logs")
    return parser.parse_args(argv)


def _install_signal_handlers() -> None:
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    # Started in the background by a shell, SIGINT is ignored: Ctrl-C semantics regardless.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _ratios(runs: dict[str, list[dict[str, Any]]]) -> dict[str, float]:
    """Each scenario's throughput over bare Flask's (the web stack's ceiling, informative) and
    over the hand-written contender's on the same database (the framework's cost), and queued
    over inline: the median of the rounds' ratios (rounds ran side by side), keyed ``a/b``."""
    pairs = []
    for name in runs:
        database = "sqlite" if name.endswith("-sqlite") else "pg"
        if name.startswith("inline-") or name.startswith("queued-"):
            pairs += [(name, "bare"), (name, f"handwritten-{database}")]
        if name.startswith("queued-"):
            pairs.append((name, "inline-pg"))
    found = {}
    for a, b in pairs:
        rounds = [
            x["throughput_eps"] / y["throughput_eps"]
            for x, y in zip(runs.get(a, []), runs.get(b, []), strict=False)
            if x["ok"] and y["ok"] and x.get("throughput_eps") and y.get("throughput_eps")
        ]
        if rounds:
            found[f"{a}/{b}"] = round(statistics.median(rounds), 3)
    return found


def _median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """A scenario's result: its median round by throughput, with every round's throughput
    (``rounds_eps``, in round order) and every round's problems; ok when all were."""
    if len(rounds) == 1:
        return rounds[0]
    timed = sorted(
        (r for r in rounds if r.get("throughput_eps")), key=lambda r: r["throughput_eps"]
    )
    chosen = dict(timed[(len(timed) - 1) // 2] if timed else rounds[0])
    chosen["rounds_eps"] = [r.get("throughput_eps") for r in rounds]
    chosen["problems"] = [f"round {r['round']}: {p}" for r in rounds for p in r["problems"]]
    chosen["ok"] = all(r["ok"] for r in rounds)
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    load = QUICK if args.quick else Load()
    overrides = {
        "users": args.users,
        "messages": args.messages,
        "concurrency": args.concurrency,
        "rate": args.rate,
        "turn_action": args.turn_action,
        "scenario_timeout": args.timeout,
    }
    load = replace(load, **{k: v for k, v in overrides.items() if v is not None})
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenarios: {unknown}; known: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    scenarios = []
    for name in names:
        scenario = SCENARIOS[name]
        changes = {
            "web_workers": args.web_workers,
            "web_worker_class": args.worker_class,
            "worker_concurrency": args.worker_concurrency,
            "gunicorn_args": tuple(shlex.split(args.gunicorn_args)),
        }
        scenarios.append(replace(scenario, **{k: v for k, v in changes.items() if v}))

    _install_signal_handlers()
    began = time.monotonic()
    results: list[dict[str, Any]] = []
    report: dict[str, Any] = {}
    with Harness(postgres=any(s.needs_postgres for s in scenarios), keep=args.keep) as harness:
        machine = harness.machine()
        print(
            f"{machine['nproc']} cores ({machine['cpu']}), PostgreSQL "
            f"{machine.get('postgresql', '-')}; {load.users} users x {load.messages} messages "
            f"per scenario, {load.concurrency} lanes"
        )
        runs: dict[str, list[dict[str, Any]]] = {s.name: [] for s in scenarios}
        for index in range(args.rounds):
            turn = index % len(scenarios)  # each round starts one scenario later
            for scenario in scenarios[turn:] + scenarios[:turn]:
                result = harness.run(scenario, load, index + 1)
                result["round"] = index + 1
                runs[scenario.name].append(result)
                status = "ok" if result["ok"] else "FAILED:\n" + "\n".join(result["problems"])
                if result["log_errors"]:
                    status += f" ({len(result['log_errors'])} error lines logged, see the JSON)"
                print(
                    f"  {scenario.name}{f' (round {index + 1})' if args.rounds > 1 else ''}: "
                    f"{result.get('throughput_eps', '-')} ev/s, {result['seconds']} s, {status}",
                    flush=True,
                )
        results = [_median_round(runs[s.name]) for s in scenarios]
        if harness.keep:
            print(f"logs and configs kept in {harness.workdir}")
        report = {
            "benchmark": "webhook_load",
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "quick": args.quick,
            "machine": machine,
            "load": asdict(load),
            "rounds": args.rounds,
            "results": results,
            "ratios": _ratios(runs),
            "seconds": round(time.monotonic() - began, 1),
        }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(table(results))
    print()
    print(cpu_table(results, report["machine"].get("nproc")))
    print(f"\n{report['seconds']} s in all; results in {args.output}")
    failed = [r["scenario"] for r in results if not r["ok"]]
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as stop:  # every process started was stopped on the way out
        print(f"\ninterrupted ({str(stop) or 'Ctrl-C'}); stopped everything this run started")
        sys.exit(130)
