"""Turns per second: chatbotmaker vs chatbotmaker 0.0.13 vs raw sqlite3, same bot, SQLite file.

    .venv/bin/python benchmarks/turns.py                  # 1k and 100k users, about 2 minutes
    .venv/bin/python benchmarks/turns.py --quick          # the same, shorter (about 20 s)
    .venv/bin/python benchmarks/turns.py --users 1000,10000,100000 --rounds 9

Each contender runs in a worker process of its own (``benchmarks/contenders/``), one per
contender and size, each with its own SQLite file holding N existing users. Rounds alternate
all of them (the order rotates every round); in a round each one handles the same seeded random
sequence of users for its size, up to ``--turns`` messages or ``--round-seconds`` seconds,
whichever comes first. A contender's figure is the median of its rounds; ratios are medians of
per-round ratios, so what is compared was measured side by side. 0.0.13 runs from its own
virtualenv, created on first use from the package registry (``benchmarks/.venv-seed``).
Results go to ``benchmarks/results/turns-<time>.json``.
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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED_VENV = HERE / ".venv-seed"
SEED = "chatbotmaker==0.0.13"
#: 0.0.13 imports ``sqlalchemy.ext.declarative.declarative_base``, still there (deprecated) in
#: SQLAlchemy 2.0 and 2.1; it declares no upper bound, so we set one it is known to work with.
#: ``--seed-sqlalchemy '<2'`` runs it on 1.4 instead (in a virtualenv of its own).
SEED_SQLALCHEMY = ">=2.0,<2.2"

TARGETS = {
    "ours_over_seed_at_100k": 10.0,  # at least
    "ours_over_raw": 0.20,  # at least, at every size
    # per-turn cost at the largest size / at the smallest, at most (or raw sqlite3's growth)
    "cost_growth": 1.25,
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
        if self.process.poll() is None:
            assert self.process.stdin
            self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.process.stdin.close()
            self.process.wait(timeout=30)


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
    requirements = [SEED, f"sqlalchemy{sqlalchemy}"]
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


def contenders_for(names: list[str], args: argparse.Namespace, workdir: Path) -> list[Contender]:
    known = {
        "ours": lambda: Contender("ours", "chatbotmaker", "contenders.ours", sys.executable),
        "seed": lambda: Contender(
            "seed",
            "chatbotmaker 0.0.13",
            "contenders.seed",
            ensure_seed_venv(seed_venv(args), args.seed_sqlalchemy),
            {"CBM_SEED_PRAGMAS": args.seed_pragmas},
        ),
        "raw": lambda: Contender("raw", "raw sqlite3", "contenders.raw_sqlite", sys.executable),
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
    archive = subprocess.run(
        ["git", "-C", str(HERE.parent), "archive", revision, "chatbotmaker_core/src"],
        check=True,
        capture_output=True,
    ).stdout
    target = workdir / "core-at-revision"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(target, filter="data")
        else:  # pragma: no cover - Python < 3.11.4
            tar.extractall(target)  # noqa: S202 - our own repository's archive
    return str(target / "chatbotmaker_core" / "src")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
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
    """One contender at one size: its worker, its database and its rounds."""

    users: int
    contender: Contender
    worker: WorkerProcess
    entry: dict[str, Any]
    asked: int = 0

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


def bench(
    sizes: list[int], contenders: list[Contender], args: argparse.Namespace, workdir: Path
) -> list[dict[str, Any]]:
    """Set up every contender at every size, then run rounds that alternate all of them.

    In each round every (size, contender) handles the same seeded sequence of users for its
    size, one after the other, in an order that rotates from round to round, so the figures
    compared with each other (contenders at one size, one contender at two sizes) are measured
    side by side, under the same conditions, round after round.
    """
    results = [{"users": users, "contenders": {}} for users in sizes]
    slots: list[Slot] = []
    try:
        for size, result in zip(sizes, results, strict=True):
            for contender in contenders:
                worker = WorkerProcess(contender, workdir, args.nice)
                entry = {"label": contender.label, "rounds": []}
                result["contenders"][contender.key] = entry
                slots.append(Slot(size, contender, worker, entry))
                db = workdir / f"{contender.key}-{size}.db"
                setup = worker.call("setup", db=str(db), users=size)
                entry.update(setup_seconds=setup["setup_seconds"], versions=setup["versions"])
                print(
                    f"  {size:>9,} users  {contender.label:<20} set up in "
                    f"{setup['setup_seconds']:.1f} s",
                    flush=True,
                )
        for slot in slots:  # warm-up: imports, caches, the first pages of the file
            slot.run(args, args.warmup, args.seed - 1, f"w{slot.users}")
        for index in range(args.rounds):
            shift = index % len(slots)
            line = []
            for slot in slots[shift:] + slots[:shift]:
                run = slot.run(args, args.turns, args.seed + index, f"r{slot.users}.{index}")
                slot.entry["rounds"].append(run)
                line.append(f"{slot.contender.key}@{slot.users:,} {run['rate']:,.0f}")
            print(f"  round {index + 1:>2}/{args.rounds}: " + ", ".join(line), flush=True)
        for slot in slots:
            check_slot(slot)
            summarise(slot.entry)
    finally:
        for slot in slots:
            slot.worker.close()
    return results


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
        raise RuntimeError(f"{slot.contender.label} at {slot.users} users: " + "; ".join(problems))


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


def verdicts(found: dict[str, Any]) -> list[tuple[str, str, bool]]:
    lines = []
    seed = found.get("ours_over_seed", {})
    at_100k = [users for users in seed if int(users) >= 100_000]
    if at_100k:
        value = min(seed[users]["ratio"] for users in at_100k)
        target = TARGETS["ours_over_seed_at_100k"]
        lines.append((f">= {target:g}x 0.0.13 at 100k+ users", f"{value:.1f}x", value >= target))
    raw = found.get("ours_over_raw", {})
    if raw:
        value = min(entry["ratio"] for entry in raw.values())
        target = TARGETS["ours_over_raw"]
        lines.append((f">= {target:.2f} of raw sqlite3", f"{value:.2f}", value >= target))
    growth = found.get("cost_growth", {})
    if "ours" in growth:
        # SQLite itself costs more per turn on a bigger file (deeper B-trees, fewer pages in
        # its cache): the framework must add no growth of its own to what raw sqlite3 shows.
        value = growth["ours"]
        target = max(TARGETS["cost_growth"], growth.get("raw", 0.0))
        label = (
            f"cost/turn at {growth['to']:,} vs {growth['from']:,} users <= "
            f"{TARGETS['cost_growth']}x or raw sqlite3's growth"
        )
        lines.append((label, f"{value:.2f}x (limit {target:.2f}x)", value <= target))
    return lines


def report(results: dict[str, Any]) -> None:
    sizes = results["sizes"]
    print()
    print(
        f"{'users':>9}  {'contender':<20} {'turns/s':>9} {'us/turn':>8} {'cpu us':>7} "
        f"{'best/s':>9} {'spread':>7}"
    )
    for size in sizes:
        for entry in size["contenders"].values():
            print(
                f"{size['users']:>9,}  {entry['label']:<20} {entry['turns_per_second']:>9,.0f} "
                f"{entry['us_per_turn']:>8,.0f} {entry['cpu_us_per_turn']:>7,.0f} "
                f"{entry['best_turns_per_second']:>9,.0f} {entry['spread']:>7.0%}"
            )
    print(
        "(median round; cpu us: the worker's CPU time per turn; best/s: the fastest round; "
        "spread: (best - worst) / median)"
    )
    found = results["ratios"]
    labels = results["labels"]
    print("\nratios: median of per-round ratios (ratio of medians / of best rounds / of CPU time)")
    names = (
        ("ours_over_seed", "ours / 0.0.13"),
        ("ours_over_raw", "ours / raw"),
        ("ours_over_rev", "ours / @rev"),
    )
    for name, label in names:
        for users, entry in found.get(name, {}).items():
            print(
                f"  {label:<14} {int(users):>9,} users  {entry['ratio']:7.2f}x   "
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
            f"{int(users):,} users {value:,.0f} us"
            for users, value in found["ours_minus_raw_us"].items()
        )
        print(f"  framework cost per turn (ours - raw, medians): {cells}")
    print()
    for label, value, ok in results["verdicts"]:
        print(f"{'PASS' if ok else 'MISS'}  {label}: {value}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="1000,100000", help="comma-separated user counts")
    parser.add_argument(
        "--contenders", default="ours,raw,seed", help="any of ours, raw, seed (default all)"
    )
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 15)")
    parser.add_argument(
        "--turns",
        type=int,
        default=None,
        help="messages per contender and size in a round (default 1500)",
    )
    parser.add_argument(
        "--round-seconds",
        type=float,
        default=None,
        help="time cap of one contender's turn in a round (default 1 s)",
    )
    parser.add_argument(
        "--warmup", type=int, default=None, help="untimed turns first (default 300)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="7 rounds of at most 400 turns or 0.3 s"
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
        help="niceness increment of the workers: negative (as root) shields the measurement "
        "from other processes on a shared machine, e.g. --nice -10",
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
    parser.add_argument("--keep", action="store_true", help="keep the SQLite files")
    parser.add_argument("--output", help="results JSON (default benchmarks/results/turns-*.json)")
    args = parser.parse_args(argv)
    quick = {"rounds": 7, "turns": 400, "round_seconds": 0.3, "warmup": 100}
    full = {"rounds": 15, "turns": 1500, "round_seconds": 1.0, "warmup": 300}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    load_at_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    users = sorted(int(n.replace("_", "")) for n in args.users.split(","))
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="cbm-turns-"))
    workdir.mkdir(parents=True, exist_ok=True)
    contenders = contenders_for([n.strip() for n in args.contenders.split(",")], args, workdir)
    settings = {k: getattr(args, k) for k in ("rounds", "turns", "round_seconds", "warmup")}
    print(f"turns benchmark: {', '.join(c.label for c in contenders)}; {settings}", flush=True)
    try:
        sizes = bench(users, contenders, args, workdir)
    finally:
        if not args.keep:
            for path in workdir.glob("*.db*"):
                path.unlink()
        if not args.workdir and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    found = ratios(sizes)
    results = {
        "benchmark": "turns",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {**machine(), "load_average_at_start": load_at_start},
        "settings": {
            **settings,
            "nice": args.nice,
            "users": users,
            "seed": args.seed,
            "seed_pragmas": args.seed_pragmas,
            "quick": args.quick,
        },
        "labels": {c.key: c.label for c in contenders},
        "targets": TARGETS,
        "sizes": sizes,
        "ratios": found,
        "verdicts": verdicts(found),
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
