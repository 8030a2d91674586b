"""Turns per second: chatbotmaker vs 0.0.13 vs raw SQL, same bot, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/turns.py                  # 1k to 1M users, both backends, 4-6 min
    .venv/bin/python benchmarks/turns.py --quick          # 1k and 100k users, shorter, 40-60 s
    .venv/bin/python benchmarks/turns.py --backends sqlite --users 1000,100000 --rounds 9

Each contender runs in a worker process of its own (``benchmarks/contenders/``), one per
backend, contender and size, each with its own database holding N existing users: a SQLite file,
or a database on a throwaway PostgreSQL server (``tests/postgres.py``, started for the run and
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
import io
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from machine import cpu_model, postgres_module

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEED_VENV = HERE / ".venv-seed"
SEED = "chatbotmaker==0.0.13"
#: 0.0.13 imports ``sqlalchemy.ext.declarative.declarative_base``, still there (deprecated) in
#: SQLAlchemy 2.0 and 2.1; it declares no upper bound, so we set one it is known to work with.
#: ``--seed-sqlalchemy '<2'`` runs it on 1.4 instead (in a virtualenv of its own).
SEED_SQLALCHEMY = ">=2.0,<2.2"
#: the driver 0.0.13 gets on PostgreSQL (SQLAlchemy 2's ``postgresql+psycopg``), as ours has
SEED_DRIVER = "psycopg[binary]"

BACKENDS = ("sqlite", "postgresql")
BACKEND_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
#: the throwaway server's settings over tests/postgres.py's (fsync and synchronous_commit off):
#: shared buffers that hold the 1M-user databases, as a server sized for them would have
PG_SETTINGS = {"shared_buffers": "1GB"}

TARGETS = {
    "ours_over_seed_at_100k": 10.0,  # at least, on each backend
    "ours_over_raw_sqlite": 0.20,  # at least, at every size (raw psycopg's ratio is reported)
    # per-turn cost at the largest size (1M users) / at the smallest (1k), at most, each backend
    "cost_growth": 1.5,
}


@dataclass
class Contender:
    key: str
    label: str
    module: str
    python: str
    env: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)  # put before the benchmark's own on sys.path


class WorkerProcess:
    """A contender's worker: one JSON command per line in, one JSON answer per line out."""

    def __init__(self, contender: Contender, cwd: Path, nice: int = 0) -> None:
        self.contender = contender
        path = os.pathsep.join([*contender.path, str(HERE)])
        env = {**os.environ, **contender.env, "PYTHONPATH": path}
        self.process = subprocess.Popen(
            [contender.python, "-m", contender.module],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=(lambda: _renice(nice)) if nice else None,
        )

    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.contender.label}: worker exited ({self.process.wait()})")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{self.contender.label}: {cmd} failed:\n{answer['error']}")
        return answer

    def close(self) -> None:
        """Ask the worker to quit; kill it if it cannot be asked (Ctrl-C) or does not."""
        if self.process.poll() is None:
            assert self.process.stdin
            try:
                self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.process.stdin.close()
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


def _renice(increment: int) -> None:
    """In the worker before it starts: change its priority, if allowed (negative needs root)."""
    try:
        os.nice(increment)
    except OSError:
        pass


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_seed_venv(venv: Path, sqlalchemy: str) -> str:
    """The 0.0.13 virtualenv, created (and 0.0.13 installed from the registry) on first use."""
    python = venv_python(venv)
    stamp = venv / "requirements.txt"
    requirements = [SEED, f"sqlalchemy{sqlalchemy}", SEED_DRIVER]
    wanted = "\n".join(requirements) + "\n"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return str(python)
    print(f"creating {venv} with {' '.join(requirements)} ...", flush=True)
    if venv.exists():
        if not (venv / "pyvenv.cfg").exists():
            raise SystemExit(f"{venv} exists and is not a virtualenv; pass another --seed-venv")
        shutil.rmtree(venv)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *requirements,
        ],
        check=True,
    )
    stamp.write_text(wanted)
    return str(python)


def seed_venv(args: argparse.Namespace) -> Path:
    if args.seed_venv:
        return Path(args.seed_venv)
    if args.seed_sqlalchemy == SEED_SQLALCHEMY:
        return SEED_VENV
    tag = "".join(c if c.isalnum() or c in "._" else "-" for c in args.seed_sqlalchemy)
    return SEED_VENV.with_name(f"{SEED_VENV.name}-sqlalchemy{tag}")


def contenders_for(
    names: list[str], backend: str, args: argparse.Namespace, workdir: Path
) -> list[Contender]:
    """The contenders ``names`` on ``backend``: ``raw`` is sqlite3 or psycopg to match."""
    raw_module, raw_label = {
        "sqlite": ("contenders.raw_sqlite", "raw sqlite3"),
        "postgresql": ("contenders.raw_psycopg", "raw psycopg"),
    }[backend]
    known = {
        "ours": lambda: Contender("ours", "chatbotmaker", "contenders.ours", sys.executable),
        "seed": lambda: Contender(
            "seed",
            "chatbotmaker 0.0.13",
            "contenders.seed",
            ensure_seed_venv(seed_venv(args), args.seed_sqlalchemy),
            {"CBM_SEED_PRAGMAS": args.seed_pragmas},
        ),
        "raw": lambda: Contender("raw", raw_label, raw_module, sys.executable),
    }
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown contender(s) {', '.join(unknown)}; known: {', '.join(known)}")
    found = [known[name]() for name in names]
    if args.compare_rev:
        source = core_at_revision(args.compare_rev, workdir)
        label = f"chatbotmaker @{args.compare_rev}"
        found.append(Contender("rev", label, "contenders.ours", sys.executable, path=[source]))
    return found


def core_at_revision(revision: str, workdir: Path) -> str:
    """``chatbotmaker_core``'s source at git revision ``revision`` (``--compare-rev``)."""
    target = workdir / "core-at-revision"
    source = target / "chatbotmaker_core" / "src"
    if source.exists():  # already extracted for the other backend
        return str(source)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "chatbotmaker_core/src"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(target, filter="data")
        else:  # pragma: no cover - Python < 3.11.4
            tar.extractall(target)  # noqa: S202 - our own repository's archive
    return str(source)


def machine() -> dict[str, Any]:
    cpu = cpu_model()
    return {
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "system": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


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
        return f"{self.backend[:2]}/{self.contender.key}@{_short(self.users)}"

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


def _short(users: int) -> str:
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
            module = postgres_module()
            self.postgres = module.start_postgres(settings=PG_SETTINGS)
            self.postgres_settings = {**module.SETTINGS, **PG_SETTINGS}
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


def paired(a: dict[str, Any], b: dict[str, Any]) -> float:
    """The median over rounds of a's rate / b's rate, both measured in the same round."""
    return statistics.median(
        x["rate"] / y["rate"] for x, y in zip(a["rounds"], b["rounds"], strict=True)
    )


def ratios(sizes: list[dict[str, Any]]) -> dict[str, Any]:
    """Per backend: ``ratios_of`` its sizes."""
    backends = dict.fromkeys(size["backend"] for size in sizes)
    return {
        backend: ratios_of([size for size in sizes if size["backend"] == backend])
        for backend in backends
    }


def ratios_of(sizes: list[dict[str, Any]]) -> dict[str, Any]:
    """ours/seed and ours/raw per size, and the growth of the cost per turn with the users.

    Each figure is the median of per-round ratios (the headline), with the ratio of the
    medians, of the best rounds, and of the CPU time per turn beside it.
    """
    out: dict[str, Any] = {}
    for size in sizes:
        entries = size["contenders"]
        if "ours" not in entries:
            continue
        ours = entries["ours"]
        for base in ("seed", "raw", "rev"):
            if base not in entries:
                continue
            other = entries[base]
            out.setdefault(f"ours_over_{base}", {})[str(size["users"])] = {
                "ratio": paired(ours, other),
                "ratio_of_medians": ours["turns_per_second"] / other["turns_per_second"],
                "ratio_of_best": ours["best_turns_per_second"] / other["best_turns_per_second"],
                "cpu_ratio": other["cpu_us_per_turn"] / ours["cpu_us_per_turn"],
            }
        if "raw" in entries:
            out.setdefault("ours_minus_raw_us", {})[str(size["users"])] = (
                ours["us_per_turn"] - entries["raw"]["us_per_turn"]
            )
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        out["cost_growth"] = {"from": small["users"], "to": large["users"]}
        for key, entry in small["contenders"].items():
            if key in large["contenders"]:
                out["cost_growth"][key] = paired(entry, large["contenders"][key])
    return out


def verdicts(found: dict[str, Any], labels: dict[str, dict[str, str]]) -> list[list[Any]]:
    """``[label, value, ok]`` for every target that the run measured, backend by backend."""
    lines: list[list[Any]] = []
    for backend, ratios_found in found.items():
        name = BACKEND_LABELS[backend]
        seed = ratios_found.get("ours_over_seed", {})
        at_100k = [users for users in seed if int(users) >= 100_000]
        if at_100k:
            value = min(seed[users]["ratio"] for users in at_100k)
            target = TARGETS["ours_over_seed_at_100k"]
            label = f"{name}: >= {target:g}x 0.0.13 at 100k+ users"
            lines.append([label, f"{value:.1f}x", value >= target])
        raw = ratios_found.get("ours_over_raw", {})
        if raw and backend == "sqlite":
            value = min(entry["ratio"] for entry in raw.values())
            target = TARGETS["ours_over_raw_sqlite"]
            label = f"{name}: >= {target:.2f} of raw sqlite3 at every size"
            lines.append([label, f"{value:.2f}", value >= target])
        growth = ratios_found.get("cost_growth", {})
        if "ours" in growth:
            value = growth["ours"]
            target = TARGETS["cost_growth"]
            others = ", ".join(
                f"{labels[backend][key]} {growth[key]:.2f}x"
                for key in ("raw", "seed")
                if key in growth
            )
            label = (
                f"{name}: cost/turn at {growth['to']:,} vs {growth['from']:,} users <= {target}x"
            )
            lines.append([label, f"{value:.2f}x ({others})", value <= target])
    return lines


def report(results: dict[str, Any]) -> None:
    sizes = results["sizes"]
    print()
    print(
        f"{'backend':<10} {'users':>9}  {'contender':<20} {'turns/s':>9} {'us/turn':>8} "
        f"{'cpu us':>7} {'best/s':>9} {'spread':>7}"
    )
    previous = None
    for size in sizes:
        if previous is not None and size["backend"] != previous:
            print()
        previous = size["backend"]
        for entry in size["contenders"].values():
            print(
                f"{BACKEND_LABELS[size['backend']]:<10} {size['users']:>9,}  "
                f"{entry['label']:<20} {entry['turns_per_second']:>9,.0f} "
                f"{entry['us_per_turn']:>8,.0f} {entry['cpu_us_per_turn']:>7,.0f} "
                f"{entry['best_turns_per_second']:>9,.0f} {entry['spread']:>7.0%}"
            )
    print(
        "(median round; cpu us: the worker's own CPU time per turn, without the PostgreSQL "
        "server's;\n best/s: the fastest round; spread: (best - worst) / median)"
    )
    print("\nratios: median of per-round ratios (ratio of medians / of best rounds / of CPU time)")
    for backend, found in results["ratios"].items():
        labels = results["labels"][backend]
        print(f"{BACKEND_LABELS[backend]}:")
        names = (
            ("ours_over_seed", "ours / 0.0.13"),
            ("ours_over_raw", f"ours / {labels.get('raw', 'raw')}"),
            ("ours_over_rev", "ours / @rev"),
        )
        for name, label in names:
            for users, entry in found.get(name, {}).items():
                print(
                    f"  {label:<20} {int(users):>9,} users  {entry['ratio']:7.2f}x   "
                    f"({entry['ratio_of_medians']:.2f} / {entry['ratio_of_best']:.2f} / "
                    f"{entry['cpu_ratio']:.2f})"
                )
        if "cost_growth" in found:
            growth = found["cost_growth"]
            cells = ", ".join(
                f"{labels[key]} {value:.2f}x" for key, value in growth.items() if key in labels
            )
            print(f"  cost/turn at {growth['to']:,} vs {growth['from']:,} users: {cells}")
        if "ours_minus_raw_us" in found:
            cells = ", ".join(
                f"{_short(int(users))} {value:,.0f} us"
                for users, value in found["ours_minus_raw_us"].items()
            )
            print(f"  framework cost per turn (ours - raw, medians): {cells}")
    print()
    for label, value, ok in results["verdicts"]:
        print(f"{'PASS' if ok else 'MISS'}  {label}: {value}")


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
        f"{', '.join(_short(n) for n in users)} users; {settings}",
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
