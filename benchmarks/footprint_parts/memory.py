"""Memory per backend: a database of existing users, a fresh worker over it, the verdict.

The worker (:mod:`footprint_parts.worker`) samples its memory as it handles turns; this side
prepares its database, starts it by re-invoking ``footprint.py --worker``, and turns the curve
into growth figures and a ``flat`` / ``grows`` verdict (with a traced second run when it grows).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from devsupport import postgres
from footprint_parts.worker import FROM_TURNS, MIB

BENCHMARKS = Path(__file__).resolve().parent.parent
ROOT = BENCHMARKS.parent
SCRIPT = BENCHMARKS / "footprint.py"  # re-invoked as the worker: footprint.py --worker SPEC

#: flat when RSS(last) - RSS(1k) <= max(GROWTH_MIB, GROWTH_RATIO * RSS(1k))
GROWTH_MIB = 3.0
GROWTH_RATIO = 0.05
SEED = 20_240_601


def prepare_database(url: str, users: int) -> float:
    """Create the schema and add ``users`` users with a ``count`` of 0; seconds taken."""
    from contenders.bot import COUNTER, INITIAL_STATE
    from contenders.protocol import fb_id, populate
    from sqlalchemy import text

    from chatbotmaker_core import Database

    started = time.perf_counter()
    database = Database({"sqlalchemy.url": url})  # creates the schema
    try:
        if database.engine.dialect.name == "sqlite":
            database.dispose()
            populate(database.engine.url.database, users)
        else:
            table = database.user_class.__table__
            with database.engine.begin() as conn:
                for start in range(0, users, 10_000):
                    rows = range(start, min(users, start + 10_000))
                    conn.execute(
                        table.insert(), [{"fb_id": fb_id(i), "state": INITIAL_STATE} for i in rows]
                    )
                conn.execute(
                    text(
                        "INSERT INTO arguments (user_id, name, value) "
                        "SELECT id, :name, CAST(:value AS JSON) FROM users"
                    ),
                    {"name": COUNTER, "value": "0"},
                )
            with database.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    finally:
        database.dispose()
    return time.perf_counter() - started


def run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    process = subprocess.run(
        [sys.executable, str(SCRIPT), "--worker", json.dumps(spec)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = process.stdout.strip().splitlines()
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"memory worker failed (exit {process.returncode}); see stderr above")
    return json.loads(lines[-1])


def summarise_memory(entry: dict[str, Any]) -> None:
    curve = entry["curve"]
    first = next((p for p in curve if p["turns"] >= FROM_TURNS), curve[0])
    last = curve[-1]
    half = next(p for p in curve if p["turns"] >= last["turns"] // 2)
    entry["from_turns"], entry["to_turns"] = first["turns"], last["turns"]
    rss_from, rss_to = first["rss_mib"], last["rss_mib"]
    entry["hwm_mib"] = last["hwm_mib"]
    if rss_from is None or rss_to is None:
        entry["verdict"] = "unknown"
        return
    growth = rss_to - rss_from
    span = last["turns"] - first["turns"]
    entry.update(
        rss_from_mib=rss_from,
        rss_to_mib=rss_to,
        growth_mib=growth,
        growth_ratio=rss_to / rss_from,
        late_from_turns=half["turns"],
        late_growth_mib=rss_to - half["rss_mib"],
        growth_bytes_per_turn=growth * MIB / span if span else None,
        anon_growth_mib=(
            last["rss_anon_mib"] - first["rss_anon_mib"]
            if last["rss_anon_mib"] is not None and first["rss_anon_mib"] is not None
            else None
        ),
        blocks_growth=last["allocated_blocks"] - first["allocated_blocks"],
        gc_objects_growth=last["gc_objects"] - first["gc_objects"],
        sqlite_growth_mib=(
            last["sqlite_mib"] - first["sqlite_mib"]
            if last["sqlite_mib"] is not None and first["sqlite_mib"] is not None
            else None
        ),
        limit_mib=max(GROWTH_MIB, GROWTH_RATIO * rss_from),
    )
    entry["verdict"] = "flat" if growth <= entry["limit_mib"] else "grows"


def measure_backend(
    name: str, url: str, args: argparse.Namespace, max_seconds: float, say: Any
) -> dict[str, Any]:
    setup = prepare_database(url, args.users)
    say(f"  {name}: {args.users:,} users set up in {setup:.1f} s; running {args.turns:,} turns")
    spec = {
        "url": url,
        "users": args.users,
        "turns": args.turns,
        "seed": SEED,
        "max_seconds": max_seconds,
        "tracemalloc": False,
        "frames": args.frames,
    }
    entry: dict[str, Any] = {
        "backend": name,
        "url_kind": url.split(":", 1)[0],
        "users": args.users,
        "turns_asked": args.turns,
        "setup_seconds": setup,
        **run_worker(spec),
    }
    summarise_memory(entry)
    entry["tracemalloc"] = None
    say(
        f"  {name}: {entry['turns']:,} turns in {entry['seconds']:.0f} s "
        f"({entry['turns_per_second']:,.0f}/s); RSS {entry.get('rss_from_mib', 0):.1f} -> "
        f"{entry.get('rss_to_mib', 0):.1f} MiB: {entry['verdict']}"
    )
    if args.tracemalloc or entry["verdict"] == "grows":
        traced_turns = min(entry["turns"], args.trace_turns)
        say(f"  {name}: tracing allocations over {traced_turns:,} turns ...")
        # The same users, with message ids of a new range, on the database as the run left it.
        entry["tracemalloc"] = run_worker(
            {**spec, "turns": traced_turns, "seed": SEED + 1, "tracemalloc": True}
        )
    return entry


def measure_memory(args: argparse.Namespace, workdir: Path, say: Any) -> dict[str, Any]:
    memory: dict[str, Any] = {}
    url = f"sqlite:///{workdir / 'footprint.db'}"
    memory["sqlite"] = measure_backend("sqlite", url, args, args.max_seconds, say)
    if not args.postgresql:
        memory["postgresql"] = {"skipped": "--no-postgresql"}
        return memory
    try:
        server = postgres.start_postgres()
    except postgres.PostgresUnavailable as error:
        memory["postgresql"] = {"skipped": str(error)}
        say(f"  postgresql skipped: {error}")
        return memory
    try:
        url = server.create_database("footprint")
        memory["postgresql"] = measure_backend(
            "postgresql", url, args, args.postgresql_max_seconds, say
        )
    finally:
        server.stop()
    return memory


def postgres_available() -> bool:
    return postgres.find_postgres_bindir() is not None
