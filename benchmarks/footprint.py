"""Footprint: a worker's resident memory over 100k turns, and start-up times.

    .venv/bin/python benchmarks/footprint.py                  # about 5 minutes
    .venv/bin/python benchmarks/footprint.py --quick          # 20k turns, 5 start-up runs
    .venv/bin/python benchmarks/footprint.py --no-postgresql --turns 50000 --tracemalloc

**Memory.** For each backend (SQLite; PostgreSQL too when its server binaries are found, on a
throwaway server from ``devsupport.postgres``) the database gets ``--users`` existing users
(state ``welcome``, a ``count`` argument of 0), then a fresh worker process, so that the figures are
of that process alone, builds ``Bot({}, messenger, Dispatcher(rules()), Database(url))`` with the
turns benchmark's bot (``contenders/bot.py``) and a null messenger that counts what it is given,
and handles ``--turns`` messages from users drawn at random, each with a new message id. After
``gc.collect()`` it reads ``/proc/self/status`` (``VmRSS``, ``VmHWM``, ``RssAnon``, ``RssFile``)
at 0, 1k, 2k, 5k, 10k, 25k, 50k, 75k, 100k turns and every twentieth of the run, together with
``sys.getallocatedblocks()`` and the number of objects the garbage collector tracks (Python-level
leak indicators that allocator fragmentation does not blur) and ``sqlite3_memory_used()``
(what the SQLite library holds: its page cache, prepared statements). A backend stops early after
``--max-seconds`` (SQLite) or ``--postgresql-max-seconds`` (PostgreSQL, slower per turn); the
turns reached are reported.

Growth is RSS at the last sample minus RSS at 1k turns (late growth: minus RSS at half the
turns reached, which a bounded cache filling up early does not show). Verdict ``flat`` when it
is at most ``max(3 MiB, 5% of RSS at 1k)``: a leak of 32 bytes per turn shows as 3 MiB over
100k turns, while allocator noise (glibc arenas) and SQLite's page cache filling up to its
default limit (2000 KiB per connection, reached after about 20k turns here) stay below that.
The handled-message-ids table grows by one row per turn by design (dedupe), on disk (or in the
server), not in the worker. When a backend is not flat (or with ``--tracemalloc``), a second
worker traces allocations (``tracemalloc``) from 1k turns on and reports the lines whose live
memory grew most.

**Start-up.** Wall time of fresh processes, commands interleaved round by round (2 warm-ups,
then ``--startup-runs``): ``python -c pass`` and ``python -c "import chatbotmaker_core"`` (same
interpreter, baselines) and ``chatbotmaker --help`` (the console script); the runs stop early
(after 5 at least) past ``--startup-max-seconds`` on a busy machine. Plugin discovery is
timed inside a fresh process: ``chatbotmaker_core.plugins.get_plugin_manager()`` (loads every
installed entry point of the ``chatbotmaker`` group) after the import, then ``components()`` of
each kind (calls the plugins' register hooks). ``-X importtime`` of ``--help`` (fastest of 3)
names where its start-up goes. These processes get a private bytecode cache
(``PYTHONPYCACHEPREFIX``, filled by the warm-ups, ``PYTHONDONTWRITEBYTECODE`` unset): the
source tree is an editable install, and without a cache every start would compile it again,
which is not what an installed wheel (compiled by pip) does.

The JSON (``--output``, default ``benchmarks/results/footprint.json``)::

    {
      "benchmark": "footprint", "started": ISO-8601, "duration_seconds": float,
      "machine": {...}, "config": {turns, users, quick, startup_runs, max_seconds, ...},
      "threshold": {"growth_mib": 3.0, "growth_ratio": 0.05},
      "memory": {
        "sqlite" | "postgresql": {
          "backend", "url_kind", "users", "turns_asked", "turns", "capped": bool,
          "setup_seconds", "seconds", "turns_per_second",
          "curve": [{"turns", "rss_mib", "hwm_mib", "rss_anon_mib", "rss_file_mib",
                     "allocated_blocks", "gc_objects", "sqlite_mib", "seconds"}, ...],
          "from_turns", "to_turns", "rss_from_mib", "rss_to_mib", "growth_mib",
          "growth_ratio", "growth_bytes_per_turn", "late_from_turns", "late_growth_mib",
          "anon_growth_mib", "blocks_growth",
          "gc_objects_growth", "sqlite_growth_mib", "hwm_mib", "limit_mib",
          "verdict": "flat" | "grows",
          "check": {"replies", "not_handled"},
          "tracemalloc": null | {"turns", "traced_growth_mib", "bytes_per_turn",
                                 "top": [{"where": "file:line", "size_kib", "count"}, ...],
                                 "tracebacks": [[frame, ...], ...]}
        }   # or {"skipped": reason}
      },
      "startup": {
        "runs", "runs_asked", "warmups", "bytecode_cache",
        "commands": {"python_pass" | "import_core" | "cli_help":
                       {"argv": [...], "median_ms", "min_ms", "runs_ms": [...]}},
        "plugin_discovery": {"median_ms", "min_ms", "runs_ms", "import_median_ms",
                             "components_median_ms", "plugins": [{name, distribution,
                             version, error}], "plugin_count", "failed",
                             "components": {kind: [names]}, "component_count"},
        "importtime_help": {"modules", "total_ms", "top_cumulative": [{"module", "depth",
                            "cumulative_ms", "self_ms"}], "top_self": [...]}
      },
      "verdicts": [{"label", "value", "ok"}]
    }

Plot ``memory[backend]["curve"]`` as ``rss_mib`` against ``turns``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from footprint_parts.memory import (
    GROWTH_MIB,
    GROWTH_RATIO,
    SEED,
    measure_memory,
    postgres_available,
)
from footprint_parts.report import report, verdicts
from footprint_parts.startup import MIN_STARTUP_RUNS, measure_startup
from footprint_parts.worker import FROM_TURNS, checkpoints, worker_main
from machine import machine

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "results" / "footprint.json"
#: the versions recorded with the machine
PACKAGES = ("chatbotmaker-core", "sqlalchemy", "psycopg", "pluggy")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, help="turns per backend (default 100000)")
    parser.add_argument("--users", type=int, default=10_000, help="existing users (10000)")
    parser.add_argument("--quick", action="store_true", help="20k turns, 5 start-up runs")
    parser.add_argument(
        "--postgresql",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also on PostgreSQL (default: when the server binaries are found)",
    )
    parser.add_argument(
        "--max-seconds", type=float, help="stop the SQLite run after this (100; 40 with --quick)"
    )
    parser.add_argument(
        "--postgresql-max-seconds",
        type=float,
        help="stop the PostgreSQL run after this (240; 20 with --quick)",
    )
    parser.add_argument("--startup-runs", type=int, help="start-up runs (15; 5 with --quick)")
    parser.add_argument(
        "--startup-max-seconds",
        type=float,
        help=f"stop start-up runs after this, {MIN_STARTUP_RUNS} at least (60; 20 with --quick)",
    )
    parser.add_argument("--warmups", type=int, default=2, help="start-up warm-up runs (2)")
    parser.add_argument("--no-startup", dest="startup", action="store_false")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="trace allocations even when memory is flat"
    )
    parser.add_argument("--trace-turns", type=int, default=20_000, help="turns traced (20000)")
    parser.add_argument("--frames", type=int, default=8, help="tracemalloc frames kept (8)")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="the JSON results")
    parser.add_argument("--quiet", action="store_true", help="only the final table")
    args = parser.parse_args(argv)
    if args.turns is None:
        args.turns = 20_000 if args.quick else 100_000
    if args.max_seconds is None:
        args.max_seconds = 40.0 if args.quick else 100.0
    if args.postgresql_max_seconds is None:
        args.postgresql_max_seconds = 20.0 if args.quick else 240.0
    if args.startup_runs is None:
        args.startup_runs = 5 if args.quick else 15
    if args.startup_max_seconds is None:
        args.startup_max_seconds = 20.0 if args.quick else 60.0
    if args.postgresql is None:
        args.postgresql = postgres_available()
    if args.turns < FROM_TURNS or args.users < 1 or args.startup_runs < 1 or args.warmups < 1:
        parser.error(
            f"--turns must be at least {FROM_TURNS}; --users, --startup-runs and --warmups "
            "at least 1 (the warm-ups fill the bytecode cache)"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return worker_main(argv[1:])
    args = parse_args(argv)

    def say(text: str) -> None:
        if not args.quiet:
            print(text, flush=True)

    started = time.perf_counter()
    results: dict[str, Any] = {
        "benchmark": "footprint",
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(PACKAGES),
        "config": {
            "turns": args.turns,
            "users": args.users,
            "quick": args.quick,
            "postgresql": args.postgresql,
            "max_seconds": args.max_seconds,
            "postgresql_max_seconds": args.postgresql_max_seconds,
            "startup_runs": args.startup_runs,
            "startup_max_seconds": args.startup_max_seconds,
            "warmups": args.warmups,
            "checkpoints": checkpoints(args.turns),
            "seed": SEED,
        },
        "threshold": {"growth_mib": GROWTH_MIB, "growth_ratio": GROWTH_RATIO},
    }
    # Start-up first: nothing else of ours (a PostgreSQL server, a worker) runs meanwhile.
    with tempfile.TemporaryDirectory(prefix="footprint-") as workdir:
        if args.startup:
            say("start-up ...")
            results["startup"] = measure_startup(args, Path(workdir), say)
        say("memory ...")
        results["memory"] = measure_memory(args, Path(workdir), say)
    results["verdicts"] = verdicts(results)
    results["duration_seconds"] = time.perf_counter() - started
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    report(results)
    say(f"\n{results['duration_seconds']:.0f} s; results in {output}")
    return 0 if all(line["ok"] for line in results["verdicts"]) else 1


if __name__ == "__main__":
    sys.exit(main())
