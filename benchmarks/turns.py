"""Turns per second: chatbotmaker vs 0.0.13 vs raw SQL, same bot, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/turns.py                  # 1k to 1M users, both backends, 4-6 min
    .venv/bin/python benchmarks/turns.py --quick          # 1k and 100k users, shorter, 40-60 s
    .venv/bin/python benchmarks/turns.py --backends sqlite --users 1000,100000 --rounds 9

Each contender runs in a worker process of its own (``benchmarks/contenders/``), one per
backend, contender and size, each with its own database holding N existing users: a SQLite file,
or a database on a throwaway PostgreSQL server (``devsupport.postgres``, started for the run and
stopped at its end). The contenders: ``ours`` (``Bot.handle``), ``seed`` (chatbotmaker 0.0.13,
the same bot) and ``raw`` (the same reads and writes by hand in one transaction: ``sqlite3`` on
SQLite, psycopg 3 on PostgreSQL). Rounds alternate all of them, both backends, every size (the
order rotates every round); in a round each one handles the same seeded random sequence of users
for its size, up to ``--turns`` messages or ``--round-seconds`` seconds, whichever comes first.
A contender's figure is the median of its rounds; ratios are medians of per-round ratios, so
what is compared was measured side by side. 0.0.13 runs from its own virtualenv, created on
first use from the package registry (``benchmarks/.venv-seed``, with psycopg for PostgreSQL).

Results go to ``--output`` (default ``benchmarks/results/turns-<time>.json``)::

    {
      "benchmark": "turns", "created": "2026-11-30T03:00:00+0000", "seconds": 420.0,
      "machine": {"nproc", "cpu", "system", "python", "sqlite", "load_average",
                  "load_average_at_start"},
      "settings": {"backends": ["sqlite", "postgresql"], "users": [1000, ...], "rounds",
                   "turns", "round_seconds", "warmup", "nice", "seed", "seed_pragmas",
                   "quick", "postgresql": {server settings} or null},
      "labels": {BACKEND: {KEY: label}},   # KEY: "ours", "raw", "seed" (and "rev")
      "targets": TARGETS,
      "sizes": [                            # one entry per backend and size
        {"backend": "sqlite", "users": 1000,
         "contenders": {KEY: {"label", "setup_seconds", "versions": {...},
                              "turns_per_second", "us_per_turn", "best_turns_per_second",
                              "cpu_us_per_turn", "spread",
                              "rounds": [{"turns", "seconds", "cpu_seconds", "rate"}, ...],
                              "check": {"sent", "counter_total", "states", "users"}}}},
        ...
      ],
      "ratios": {BACKEND: {
        "ours_over_seed": {USERS: {"ratio", "ratio_of_medians", "ratio_of_best",
                                   "cpu_ratio"}},
        "ours_over_raw": {USERS: {...the same}},
        "ours_minus_raw_us": {USERS: microseconds},
        "cost_growth": {"from": USERS, "to": USERS, KEY: growth, ...}}},
      "verdicts": [[label, value, ok], ...]
    }

``USERS`` keys are strings (``"1000"``); ``ratio`` is the headline (median of per-round
ratios); ``cost_growth[KEY]`` is the cost per turn at the largest size over that at the
smallest. On PostgreSQL ``cpu_us_per_turn`` is the worker's own CPU time, without the server's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from machine import machine
from turns_parts.report import TARGETS, ratios, report, verdicts
from turns_parts.rounds import BACKEND_LABELS, BACKENDS, Run, bench, short_users
from turns_parts.workers import SEED_SQLALCHEMY, contenders_for

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--users",
        default=None,
        help="comma-separated user counts (default 1000,10000,100000,1000000; "
        "--quick: 1000,100000)",
    )
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="any of sqlite, postgresql (default both)",
    )
    parser.add_argument(
        "--contenders",
        default="ours,raw,seed",
        help="any of ours, raw, seed (default all; raw is sqlite3 or psycopg to match)",
    )
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 13)")
    parser.add_argument(
        "--turns",
        type=int,
        default=None,
        help="messages per contender, backend and size in a round (default 1000)",
    )
    parser.add_argument(
        "--round-seconds",
        type=float,
        default=None,
        help="time cap of one contender's turn in a round (default 0.6 s); also caps its "
        "warm-up. 0.0.13 at 1M users takes a few turns in it",
    )
    parser.add_argument(
        "--warmup", type=int, default=None, help="untimed turns first (default 200)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1k and 100k users, 7 rounds of at most 400 turns or 0.25 s",
    )
    parser.add_argument(
        "--setup-jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="databases created and populated at once (default: the number of CPUs)",
    )
    parser.add_argument(
        "--compare-rev",
        metavar="REV",
        help="also run chatbotmaker_core as of git revision REV (contender 'rev'), "
        "to measure a change",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the user sequence")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness increment of the workers and the PostgreSQL server: negative (as root) "
        "shields the measurement from other processes on a shared machine, e.g. --nice -10",
    )
    parser.add_argument(
        "--seed-pragmas",
        choices=("same", "library"),
        default="same",
        help="0.0.13's SQLite settings: 'same' as ours (WAL, synchronous=NORMAL, the default) "
        "or 'library' (synchronous=FULL, as 0.0.13 leaves it)",
    )
    parser.add_argument(
        "--seed-sqlalchemy",
        default=SEED_SQLALCHEMY,
        help=f"SQLAlchemy version specifier for 0.0.13 (default '{SEED_SQLALCHEMY}')",
    )
    parser.add_argument("--seed-venv", help="0.0.13's virtualenv (default benchmarks/.venv-seed*)")
    parser.add_argument("--workdir", help="where the SQLite files go (default: a temp dir)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the SQLite files (the PostgreSQL server goes at the end of the run)",
    )
    parser.add_argument("--output", help="results JSON (default benchmarks/results/turns-*.json)")
    args = parser.parse_args(argv)
    quick = {
        "users": "1000,100000",
        "rounds": 7,
        "turns": 400,
        "round_seconds": 0.25,
        "warmup": 100,
    }
    full = {
        "users": "1000,10000,100000,1000000",
        "rounds": 13,
        "turns": 1000,
        "round_seconds": 0.6,
        "warmup": 200,
    }
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    load_at_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    users = sorted(int(n.replace("_", "")) for n in args.users.split(","))
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = [name for name in backends if name not in BACKENDS]
    if unknown or not backends:
        raise SystemExit(f"unknown backend(s) {', '.join(unknown)}; known: {', '.join(BACKENDS)}")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="cbm-turns-"))
    workdir.mkdir(parents=True, exist_ok=True)
    names = [n.strip() for n in args.contenders.split(",")]
    contenders = {backend: contenders_for(names, backend, args, workdir) for backend in backends}
    settings = {k: getattr(args, k) for k in ("rounds", "turns", "round_seconds", "warmup")}
    print(
        f"turns benchmark: {', '.join(BACKEND_LABELS[b] for b in backends)}; "
        f"{', '.join(c.key for c in contenders[backends[0]])}; "
        f"{', '.join(short_users(n) for n in users)} users; {settings}",
        flush=True,
    )
    databases = None
    try:
        databases = Run(backends, workdir, args.nice)
        sizes = bench(users, contenders, args, databases)
    finally:
        if databases is not None:
            databases.close()
        if not args.keep:
            for path in workdir.glob("*.db*"):
                path.unlink()
        if not args.workdir and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    found = ratios(sizes)
    labels = {backend: {c.key: c.label for c in found_} for backend, found_ in contenders.items()}
    results = {
        "benchmark": "turns",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {**machine(), "load_average_at_start": load_at_start},
        "settings": {
            **settings,
            "backends": backends,
            "nice": args.nice,
            "users": users,
            "seed": args.seed,
            "seed_pragmas": args.seed_pragmas,
            "quick": args.quick,
            "postgresql": databases.postgres_settings,
        },
        "labels": labels,
        "targets": TARGETS,
        "sizes": sizes,
        "ratios": found,
        "verdicts": verdicts(found, labels),
    }
    results["seconds"] = time.perf_counter() - started
    report(results)
    output = (
        Path(args.output)
        if args.output
        else (HERE / "results" / f"turns-{time.strftime('%Y%m%d-%H%M%S')}.json")
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{results['seconds']:.0f} s; results in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
