"""The memory worker: a process of its own, so that the memory it samples is of the bot alone.

``footprint.py --worker SPEC`` runs :func:`worker_main`: it builds the bot on a database that the
driver (:mod:`footprint_parts.memory`) prepared, handles the turns and answers one JSON line.
"""

from __future__ import annotations

import gc
import json
import os
import random
import sys
import time
from typing import Any

#: growth is measured, and allocations traced, from here on: past the start-up's allocations
FROM_TURNS = 1_000
#: memory is sampled at these turns (those within the run) and every twentieth of the run
FIXED_POINTS = (0, 1_000, 2_000, 5_000, 10_000, 25_000, 50_000, 75_000, 100_000)
MIB = 1024 * 1024
STATUS_FIELDS = {
    "VmRSS": "rss_mib",
    "VmHWM": "hwm_mib",
    "RssAnon": "rss_anon_mib",
    "RssFile": "rss_file_mib",
}


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
