"""Footprint: a worker's resident memory over 100k turns, and start-up times.

    .venv/bin/python benchmarks/footprint.py                  # about 5 minutes
    .venv/bin/python benchmarks/footprint.py --quick          # 20k turns, 5 start-up runs
    .venv/bin/python benchmarks/footprint.py --no-postgresql --turns 50000 --tracemalloc

**Memory.** For each backend (SQLite; PostgreSQL too when its server binaries are found, on a
throwaway server from ``tests/postgres.py``) the database gets ``--users`` existing users (state
``welcome``, a ``count`` argument of 0), then a fresh worker process, so that the figures are of
that process alone, builds ``Bot({}, messenger, Dispatcher(rules()), Database(url))`` with the
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
import gc
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from machine import cpu_model, postgres_module

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OUTPUT = HERE / "results" / "footprint.json"

#: flat when RSS(last) - RSS(1k) <= max(GROWTH_MIB, GROWTH_RATIO * RSS(1k))
GROWTH_MIB = 3.0
GROWTH_RATIO = 0.05
FROM_TURNS = 1_000
MIN_STARTUP_RUNS = 5
FIXED_POINTS = (0, 1_000, 2_000, 5_000, 10_000, 25_000, 50_000, 75_000, 100_000)
MIB = 1024 * 1024
SEED = 20_240_601
STATUS_FIELDS = {
    "VmRSS": "rss_mib",
    "VmHWM": "hwm_mib",
    "RssAnon": "rss_anon_mib",
    "RssFile": "rss_file_mib",
}


# -- the memory worker (a process of its own) ------------------------------------------------


def read_status() -> dict[str, float | None]:
    """Resident memory of this process, in MiB, from ``/proc/self/status`` (Linux)."""
    found: dict[str, float | None] = dict.fromkeys(STATUS_FIELDS.values())
    try:
        with open("/proc/self/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in STATUS_FIELDS:
                    found[STATUS_FIELDS[key]] = int(value.split()[0]) / 1024  # kB
    except OSError:  # not Linux: the peak is all we can get
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        found["hwm_mib"] = peak / (MIB if sys.platform == "darwin" else 1024)
    return found


def sqlite_memory_used() -> Any:
    """``sqlite3_memory_used()`` of the SQLite library this process loaded, or None.

    What SQLite holds (page caches, prepared statements): RSS growth that this accounts for
    is SQLite's caches filling up to their limits, not the framework.
    """
    try:
        import ctypes

        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "libsqlite3" in line}
        if len(paths) != 1:
            return None
        function = ctypes.CDLL(paths.pop()).sqlite3_memory_used
        function.restype = ctypes.c_int64
        function.argtypes = []
        return function
    except (OSError, AttributeError):
        return None


def checkpoints(turns: int) -> list[int]:
    points = {p for p in FIXED_POINTS if p <= turns}
    points.update(turns * k // 20 for k in range(1, 21))
    return sorted(points)


def memory_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Build the bot on an existing database and handle turns, sampling memory as it goes."""
    sys.path.insert(0, str(HERE))
    from contenders.bot import rules
    from contenders.protocol import TEXT, fb_id

    from chatbotmaker_core import Bot, Database, Dispatcher, Message, NullMessenger

    class CountingMessenger(NullMessenger):
        sent = 0

        def send(self, user_id: str, text: str) -> None:
            self.sent += 1

    messenger = CountingMessenger()
    import sqlite3  # noqa: F401 - loaded now, so that its library can be found

    sqlite_memory = sqlite_memory_used()
    bot = Bot({}, messenger, Dispatcher(rules()), Database({"sqlalchemy.url": spec["url"]}))
    users, turns, trace = spec["users"], spec["turns"], spec["tracemalloc"]
    rng = random.Random(spec["seed"])
    handle, clock = bot.handle, time.perf_counter
    curve: list[dict[str, Any]] = []
    state = {"done": 0, "not_handled": 0}
    started = clock()
    deadline = started + spec["max_seconds"]
    capped = False

    def run_to(target: int) -> bool:
        """Handle turns up to ``target`` in all; False when the time ran out first."""
        done, misses = state["done"], 0
        while done < target:
            result = handle(
                Message(user_id=fb_id(rng.randrange(users)), text=TEXT, message_id=f"m.{done}")
            )
            misses += not result.handled
            done += 1
            if not done % 256 and clock() > deadline:
                break
        state["done"] = done
        state["not_handled"] += misses
        return done >= target

    def sample() -> None:
        gc.collect()
        point = {"turns": state["done"], **read_status()}
        point["allocated_blocks"] = sys.getallocatedblocks()
        point["gc_objects"] = len(gc.get_objects())
        point["sqlite_mib"] = sqlite_memory() / MIB if sqlite_memory else None
        point["seconds"] = clock() - started
        curve.append(point)

    if trace:
        return trace_worker(spec, run_to, clock)
    for target in checkpoints(turns):
        capped = not run_to(target)
        sample()
        if capped:
            break
    seconds = clock() - started
    bot.database.dispose()
    return {
        "turns": state["done"],
        "capped": capped,
        "seconds": seconds,
        "turns_per_second": state["done"] / seconds if seconds else None,
        "curve": curve,
        "check": {"replies": messenger.sent, "not_handled": state["not_handled"]},
    }


def trace_worker(spec: dict[str, Any], run_to: Any, clock: Any) -> dict[str, Any]:
    """What grows: live allocations made after ``FROM_TURNS`` turns, by line, at the end."""
    import tracemalloc

    run_to(FROM_TURNS)
    gc.collect()
    tracemalloc.start(spec["frames"])
    before = tracemalloc.take_snapshot()
    traced_before = tracemalloc.get_traced_memory()[0]
    run_to(spec["turns"])
    gc.collect()
    after = tracemalloc.take_snapshot()
    traced_after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    filters = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap*>"),
    ]
    before, after = before.filter_traces(filters), after.filter_traces(filters)
    by_line = [d for d in after.compare_to(before, "lineno") if d.size_diff > 0][:15]
    by_trace = [d for d in after.compare_to(before, "traceback") if d.size_diff > 0][:3]
    turns = spec["turns"] - FROM_TURNS
    growth = traced_after - traced_before
    return {
        "turns": turns,
        "traced_growth_mib": growth / MIB,
        "bytes_per_turn": growth / turns if turns else None,
        "top": [
            {
                "where": f"{d.traceback[0].filename}:{d.traceback[0].lineno}",
                "size_kib": d.size_diff / 1024,
                "count": d.count_diff,
            }
            for d in by_line
        ],
        "tracebacks": [
            [f"{frame.filename}:{frame.lineno}" for frame in d.traceback] for d in by_trace
        ],
    }


def worker_main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # anything printed on the way does not end up in the answer
    out.write(json.dumps(memory_worker(spec)) + "\n")
    out.flush()
    return 0


# -- the driver ------------------------------------------------------------------------------


def prepare_database(url: str, users: int) -> float:
    """Create the schema and add ``users`` users with a ``count`` of 0; seconds taken."""
    sys.path.insert(0, str(HERE))
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
        [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
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
    postgres = postgres_module()
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
    return postgres_module().find_postgres_bindir() is not None


# -- start-up --------------------------------------------------------------------------------

DISCOVERY = """
import json, time
t0 = time.perf_counter()
import chatbotmaker_core.plugins as plugins
t1 = time.perf_counter()
manager = plugins.get_plugin_manager()
t2 = time.perf_counter()
components = {kind: sorted(manager.components(kind)) for kind in plugins.KINDS}
t3 = time.perf_counter()
print(json.dumps({
    "import": t1 - t0, "discovery": t2 - t1, "components": t3 - t2,
    "plugins": [
        {"name": p.name, "distribution": p.distribution, "version": p.version, "error": p.error}
        for p in manager.plugins
    ],
    "found": components,
}))
"""


def startup_commands() -> dict[str, list[str]]:
    python = sys.executable
    commands = {
        "python_pass": [python, "-c", "pass"],
        "import_core": [python, "-c", "import chatbotmaker_core"],
    }
    script = Path(python).parent / "chatbotmaker"
    if not script.exists():
        found = shutil.which("chatbotmaker")
        script = Path(found) if found else script
    if script.exists():
        commands["cli_help"] = [str(script), "--help"]
    return commands


def startup_env(cache: Path) -> dict[str, str]:
    """The caller's environment with a private bytecode cache that start-ups may write to."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def wall_time(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - started


def discovery_run(env: dict[str, str]) -> dict[str, Any]:
    process = subprocess.run(
        [sys.executable, "-c", DISCOVERY],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(process.stdout.strip().splitlines()[-1])


def measure_startup(args: argparse.Namespace, workdir: Path, say: Any) -> dict[str, Any]:
    commands = startup_commands()
    env = startup_env(workdir / "pycache")
    times: dict[str, list[float]] = {key: [] for key in commands}
    discoveries: list[dict[str, Any]] = []
    deadline = None
    for index in range(args.warmups + args.startup_runs):
        if index == args.warmups:
            deadline = time.perf_counter() + args.startup_max_seconds
        elif deadline is not None and index - args.warmups >= MIN_STARTUP_RUNS:
            if time.perf_counter() > deadline:
                break
        keys = list(commands)
        shift = index % len(keys)
        for key in keys[shift:] + keys[:shift]:  # the order rotates: no command is always first
            elapsed = wall_time(commands[key], env)
            if index >= args.warmups:
                times[key].append(elapsed)
        found = discovery_run(env)
        if index >= args.warmups:
            discoveries.append(found)
    runs = len(discoveries)
    say(f"  start-up: {runs} runs of {len(commands) + 1} measurements done")
    result: dict[str, Any] = {
        "runs": runs,
        "runs_asked": args.startup_runs,
        "warmups": args.warmups,
        "bytecode_cache": "private PYTHONPYCACHEPREFIX, filled by the warm-ups",
    }
    result["commands"] = {
        key: {"argv": _display(commands[key]), **_stats(times[key])} for key in commands
    }
    last = discoveries[-1]
    result["plugin_discovery"] = {
        **_stats([d["discovery"] for d in discoveries]),
        "import_median_ms": 1e3 * statistics.median(d["import"] for d in discoveries),
        "components_median_ms": 1e3 * statistics.median(d["components"] for d in discoveries),
        "plugins": last["plugins"],
        "plugin_count": len(last["plugins"]),
        "failed": [p["name"] for p in last["plugins"] if p["error"]],
        "components": last["found"],
        "component_count": sum(len(names) for names in last["found"].values()),
    }
    if "cli_help" in commands:
        result["importtime_help"] = importtime(commands["cli_help"], env)
    return result


def _stats(seconds: list[float]) -> dict[str, Any]:
    ms = [1e3 * s for s in seconds]
    return {"median_ms": statistics.median(ms), "min_ms": min(ms), "runs_ms": ms}


def _display(argv: list[str]) -> list[str]:
    return [os.path.relpath(a, ROOT) if os.path.isabs(a) else a for a in argv]


def importtime(argv: list[str], env: dict[str, str], runs: int = 3, top: int = 5) -> dict[str, Any]:
    """``-X importtime`` of a command: per module, the fastest of ``runs`` runs."""
    best: dict[str, dict[str, Any]] = {}
    for _ in range(runs):
        process = subprocess.run(
            [sys.executable, "-X", "importtime", *argv],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=True,
        )
        for line in process.stderr.splitlines():
            if not line.startswith("import time:") or "imported package" in line:
                continue
            own, cumulative, name = line[len("import time:") :].split("|", 2)
            module = name.strip()
            entry = {
                "module": module,
                "depth": (len(name) - len(name.lstrip()) - 1) // 2,
                "cumulative_ms": int(cumulative) / 1e3,
                "self_ms": int(own) / 1e3,
            }
            if module not in best or entry["cumulative_ms"] < best[module]["cumulative_ms"]:
                best[module] = entry
    modules = list(best.values())
    return {
        "modules": len(modules),
        "total_ms": sum(m["self_ms"] for m in modules),
        "top_cumulative": sorted(modules, key=lambda m: -m["cumulative_ms"])[:top],
        "top_self": sorted(modules, key=lambda m: -m["self_ms"])[:top],
    }


# -- report ----------------------------------------------------------------------------------


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    lines = []
    for name, entry in results["memory"].items():
        if "verdict" not in entry:
            continue
        label = (
            f"{name}: RSS after {entry['to_turns']:,} turns - after {entry['from_turns']:,} "
            f"<= {entry.get('limit_mib', GROWTH_MIB):.1f} MiB"
        )
        value = f"{entry.get('growth_mib', float('nan')):+.1f} MiB"
        lines.append({"label": label, "value": value, "ok": entry["verdict"] == "flat"})
        check, turns = entry["check"], entry["turns"]
        lines.append(
            {
                "label": f"{name}: every turn handled, 2 replies each",
                "value": f"{turns - check['not_handled']:,}/{turns:,} handled, "
                f"{check['replies']:,} replies",
                "ok": check["not_handled"] == 0 and check["replies"] == 2 * turns,
            }
        )
    return lines


def report(results: dict[str, Any]) -> None:
    print("\nmemory (after gc.collect(); MiB)")
    for name, entry in results["memory"].items():
        if "skipped" in entry:
            print(f"  {name}: skipped ({entry['skipped']})")
            continue
        print(f"  {name}: {entry['turns']:,} turns, {entry['turns_per_second']:,.0f} turns/s")
        print(
            f"    {'turns':>8} {'RSS':>7} {'anon':>7} {'file':>7} {'HWM':>7} {'sqlite':>7} "
            f"{'blocks':>9}"
        )
        for point in entry["curve"]:
            print(
                f"    {point['turns']:>8,} {_mib(point['rss_mib'])} {_mib(point['rss_anon_mib'])} "
                f"{_mib(point['rss_file_mib'])} {_mib(point['hwm_mib'])} "
                f"{_mib(point['sqlite_mib'])} {point['allocated_blocks']:>9,}"
            )
        if "growth_mib" in entry:
            print(
                f"    growth {entry['from_turns']:,} -> {entry['to_turns']:,}: "
                f"{entry['growth_mib']:+.2f} MiB (x{entry['growth_ratio']:.3f}, "
                f"{entry['growth_bytes_per_turn']:+.1f} B/turn; "
                f"since {entry['late_from_turns']:,}: {entry['late_growth_mib']:+.2f} MiB; blocks "
                f"{entry['blocks_growth']:+,}, gc objects {entry['gc_objects_growth']:+,}"
                + (
                    f", sqlite3_memory_used {entry['sqlite_growth_mib']:+.2f} MiB"
                    if entry["sqlite_growth_mib"] is not None
                    else ""
                )
                + f"): {entry['verdict']}"
            )
        traced = entry.get("tracemalloc")
        if traced:
            print(
                f"    tracemalloc over {traced['turns']:,} turns: "
                f"{traced['traced_growth_mib']:+.2f} MiB live ({traced['bytes_per_turn']:+.1f} "
                f"B/turn); top lines:"
            )
            for line in traced["top"][:8]:
                print(f"      {line['size_kib']:>9.1f} KiB {line['count']:>+8,}  {line['where']}")
    startup = results.get("startup")
    if startup:
        report_startup(startup)
    print()
    for line in results["verdicts"]:
        mark = "ok  " if line["ok"] else "FAIL"
        print(f"  [{mark}] {line['label']}: {line['value']}")


def report_startup(startup: dict[str, Any]) -> None:
    print(f"\nstart-up (wall ms, fresh process; median / min of {startup['runs']})")
    for entry in startup["commands"].values():
        print(f"  {' '.join(entry['argv']):<48} {entry['median_ms']:>7.1f} {entry['min_ms']:>7.1f}")
    found = startup["plugin_discovery"]
    print(
        f"  {'get_plugin_manager() (in process)':<48} {found['median_ms']:>7.1f} "
        f"{found['min_ms']:>7.1f}"
    )
    print(
        f"    {found['plugin_count']} plugins ({len(found['failed'])} failed), "
        f"{found['component_count']} components: "
        + "; ".join(f"{kind}: {', '.join(names)}" for kind, names in found["components"].items())
        + f"; components() {found['components_median_ms']:.1f} ms"
    )
    timing = startup.get("importtime_help")
    if timing:
        print(f"  -X importtime of --help: {timing['total_ms']:.0f} ms in imports; top cumulative:")
        for module in timing["top_cumulative"]:
            print(
                f"    {module['cumulative_ms']:>7.1f} ms  {'  ' * module['depth']}"
                f"{module['module']}"
            )


def _mib(value: float | None) -> str:
    return f"{value:>7.1f}" if value is not None else f"{'-':>7}"


def machine() -> dict[str, Any]:
    cpu = cpu_model()
    packages = {}
    for name in ("chatbotmaker-core", "sqlalchemy", "psycopg", "pluggy"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return {
        "nproc": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "cpu": cpu,
        "system": platform.platform(),
        "python": platform.python_version(),
        "packages": packages,
    }


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
        "machine": machine(),
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
