"""The measurement: every contender's database set up, then rounds that alternate them all.

Contenders compared with each other run side by side in every round, in an order that rotates,
so that what a shared machine does meanwhile weighs on all of them alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devsupport import postgres
from turns_parts.workers import Contender, WorkerProcess

BACKENDS = ("sqlite", "postgresql")
BACKEND_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
#: the throwaway server's settings over devsupport.postgres's (fsync and synchronous_commit off):
#: shared buffers that hold the 1M-user databases, as a server sized for them would have
PG_SETTINGS = {"shared_buffers": "1GB"}


@dataclass
class Slot:
    """One contender at one size on one backend: its worker, its database and its rounds."""

    backend: str
    users: int
    contender: Contender
    worker: WorkerProcess
    entry: dict[str, Any]
    db: str = ""
    asked: int = 0

    @property
    def name(self) -> str:
        return f"{self.contender.label} ({BACKEND_LABELS[self.backend]}) at {self.users:,} users"

    @property
    def short(self) -> str:
        return f"{self.backend[:2]}/{self.contender.key}@{short_users(self.users)}"

    def run(self, args: argparse.Namespace, turns: int, seed: int, prefix: str) -> dict:
        run = self.worker.call(
            "run",
            users=self.users,
            turns=turns,
            max_seconds=args.round_seconds,
            seed=seed,
            prefix=prefix,
        )
        self.asked += run["turns"]
        run["rate"] = run["turns"] / run["seconds"]
        return run


def short_users(users: int) -> str:
    for unit, suffix in ((1_000_000, "M"), (1_000, "k")):
        if users >= unit and users % unit == 0:
            return f"{users // unit}{suffix}"
    return str(users)


class Run:
    """The databases of a run: SQLite files in ``workdir``, a PostgreSQL server if needed."""

    def __init__(self, backends: list[str], workdir: Path, nice: int = 0) -> None:
        self.workdir = workdir
        self.lock = threading.Lock()  # one CREATE DATABASE at a time (they copy template1)
        self.postgres: Any = None
        self.postgres_settings: dict[str, str] | None = None
        if "postgresql" in backends:
            self.postgres = postgres.start_postgres(settings=PG_SETTINGS)
            self.postgres_settings = {**postgres.SETTINGS, **PG_SETTINGS}
            if nice:
                self._renice_server(nice)

    def _renice_server(self, increment: int) -> None:
        """``--nice`` for the server too: its backends, forked later, inherit the postmaster's."""
        try:
            pid = int((self.postgres.root / "data" / "postmaster.pid").read_text().split()[0])
            os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, pid) + increment)
        except (OSError, ValueError, IndexError, AttributeError):
            print("  (could not renice the PostgreSQL server)", flush=True)

    def database(self, backend: str, key: str, users: int) -> str:
        """A new database for one slot: a SQLite path or a PostgreSQL URL."""
        if backend == "postgresql":
            with self.lock:
                return self.postgres.create_database(f"{key}_{users}")
        return str(self.workdir / f"{key}-{users}.db")

    def close(self) -> None:
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None


def bench(
    sizes: list[int],
    contenders: dict[str, list[Contender]],
    args: argparse.Namespace,
    databases: Run,
) -> list[dict[str, Any]]:
    """Set up every contender at every size on every backend, then run rounds alternating all.

    In each round every (backend, size, contender) handles the same seeded sequence of users for
    its size, one after the other, in an order that rotates from round to round, so the figures
    compared with each other (contenders at one size, one contender at two sizes) are measured
    side by side, under the same conditions, round after round.
    """
    results = []
    slots: list[Slot] = []
    try:
        for backend, found in contenders.items():
            for size in sizes:
                result: dict[str, Any] = {"backend": backend, "users": size, "contenders": {}}
                results.append(result)
                for contender in found:
                    worker = WorkerProcess(contender, databases.workdir, args.nice)
                    entry = {"label": contender.label, "rounds": []}
                    result["contenders"][contender.key] = entry
                    slots.append(Slot(backend, size, contender, worker, entry))
        setup(slots, databases, args.setup_jobs)
        for slot in slots:  # warm-up: imports, caches, the first pages of the database
            slot.run(args, args.warmup, args.seed - 1, f"w{slot.users}")
        for index in range(args.rounds):
            shift = index % len(slots)
            line = []
            started = time.perf_counter()
            for slot in slots[shift:] + slots[:shift]:
                run = slot.run(args, args.turns, args.seed + index, f"r{slot.users}.{index}")
                slot.entry["rounds"].append(run)
                line.append(f"{slot.short} {run['rate']:,.0f}")
            seconds = time.perf_counter() - started
            print(
                f"  round {index + 1:>2}/{args.rounds} ({seconds:.0f} s): " + ", ".join(line),
                flush=True,
            )
        for slot in slots:
            check_slot(slot)
            summarise(slot.entry)
    finally:
        for slot in slots:
            slot.worker.close()
    return results


def setup(slots: list[Slot], databases: Run, jobs: int) -> None:
    """Create and populate every slot's database, ``jobs`` at a time, the largest first."""

    def one(slot: Slot) -> None:
        slot.db = databases.database(slot.backend, slot.contender.key, slot.users)
        answer = slot.worker.call("setup", db=slot.db, users=slot.users)
        slot.entry.update(setup_seconds=answer["setup_seconds"], versions=answer["versions"])
        print(f"  set up {slot.name} in {answer['setup_seconds']:.1f} s", flush=True)

    started = time.perf_counter()
    order = sorted(slots, key=lambda slot: -slot.users)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(one, slot) for slot in order]
        try:
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    print(f"  all set up in {time.perf_counter() - started:.0f} s", flush=True)


def check_slot(slot: Slot) -> None:
    """The database and the messenger agree with the turns asked for: the work was done."""
    check = slot.worker.call("check")
    slot.entry["check"] = check
    problems = []
    if check["counter_total"] != slot.asked:
        problems.append(f"counters add up to {check['counter_total']}, not {slot.asked}")
    if check["sent"] != 2 * slot.asked:
        problems.append(f"{check['sent']} replies sent, not {2 * slot.asked}")
    if check["users"] != slot.users:
        problems.append(f"{check['users']} users, not {slot.users}")
    if problems:
        raise RuntimeError(f"{slot.name}: " + "; ".join(problems))


def summarise(entry: dict[str, Any]) -> None:
    """Median and best round; on a shared machine other processes only slow rounds down."""
    rates = [run["rate"] for run in entry["rounds"]]
    cpu = [1e6 * run["cpu_seconds"] / run["turns"] for run in entry["rounds"]]
    entry["turns_per_second"] = statistics.median(rates)
    entry["us_per_turn"] = 1e6 / entry["turns_per_second"]
    entry["best_turns_per_second"] = max(rates)
    entry["cpu_us_per_turn"] = statistics.median(cpu)
    entry["spread"] = (max(rates) - min(rates)) / entry["turns_per_second"]
