"""Every benchmark in one command: turns, webhook and scale-out, footprint; JSON and PNG plots.

    make bench                                      # the same as the next line
    .venv/bin/python benchmarks/run.py              # everything, about 15 minutes
    .venv/bin/python benchmarks/run.py --quick      # everything, smaller, about 4 minutes
    .venv/bin/python benchmarks/run.py --only turns --turns-args "--backends sqlite"
    .venv/bin/python benchmarks/run.py --plot-only benchmarks/results/latest

The benchmarks run one after the other, each in a process of its own, so none of them
disturbs another: ``turns.py`` (in-process turns against 0.0.13 and raw SQL), ``webhook_load.py``
(gunicorn end to end, bare Flask / hand-written / inline / queued with 1, 2, 4 workers, in
``WEBHOOK_ROUNDS`` rounds whose order rotates, the ratios being medians of the rounds'), the
same again paced (``webhook_rate``: inline-pg and queued-2 offered a steady 40 events/s, for
reply latency below capacity) and ``footprint.py`` (memory over 100k turns, start-up). Each
writes its own JSON into the run's folder
(``benchmarks/results/<time>/``, also reachable as ``benchmarks/results/latest``); this script
then writes ``results.json`` (all of them, plus ``summary``: the headline figures checked against
the targets), ``summary.md`` (the table in docs/performance.md) and the PNG plots
(``plots.py``). ``--publish`` copies the plots and the summary into ``docs/performance/``.
The exit status is 1 if a benchmark failed or a target was missed.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

# benchmarks/ is this script's own folder, first on sys.path (see machine.py)
from machine import machine
from summary import markdown, summarise

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DOCS = HERE.parent / "docs" / "performance"
BENCHMARKS = {
    "turns": "turns.py",
    "webhook": "webhook_load.py",
    "webhook_rate": "webhook_load.py",
    "footprint": "footprint.py",
}
#: the paced pass: a steady 40 events/s, below both scenarios' capacity, 400 events each
#: (about 10 s; ``--quick``: its 24 users x 8 messages, about 5 s)
RATE = 40
FIXED_ARGS = {
    "webhook_rate": ["--rate", str(RATE), "--scenarios", "inline-pg,queued-2"],
}
#: rounds of the webhook scenarios: one run of each differed by up to 1.8x from the next on
#: this machine (inline-pg 455 to 836 events/s in an afternoon), so a ratio of two runs could
#: meet or miss a target by chance; three rounds side by side take about 2.5 minutes
WEBHOOK_ROUNDS = 3
FULL_ARGS = {
    "webhook": ["--rounds", str(WEBHOOK_ROUNDS)],
    "webhook_rate": ["--users", "40", "--messages", "10"],
}


def run_one(name: str, folder: Path, quick: bool, extra: str) -> dict[str, Any]:
    """Run one benchmark script; its JSON (or an ``error`` entry)."""
    output = folder / f"{name}.json"
    argv = [sys.executable, str(HERE / BENCHMARKS[name]), "--output", str(output)]
    argv += FIXED_ARGS.get(name, [])
    argv += ["--quick"] if quick else FULL_ARGS.get(name, [])
    argv += shlex.split(extra)
    print(f"\n=== {name}: {shlex.join(argv[1:])}", flush=True)
    started = time.monotonic()
    status = subprocess.run(argv, cwd=HERE.parent, check=False).returncode
    seconds = round(time.monotonic() - started, 1)
    print(f"=== {name}: exit {status} after {seconds} s", flush=True)
    if not output.exists():
        return {"error": f"{BENCHMARKS[name]} exited {status} without writing {output.name}"}
    result = json.loads(output.read_text())
    result["exit_status"] = status
    result["wall_seconds"] = seconds
    return result


def new_folder() -> Path:
    folder = RESULTS / datetime.now().strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=False)
    latest = RESULTS / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(folder.name)
    return folder


def write_outputs(results: dict[str, Any], folder: Path, publish: bool) -> list[Path]:
    results["summary"] = summarise(results)
    (folder / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    table = markdown(results["summary"], results)
    (folder / "summary.md").write_text(table)
    from plots import plot_all  # matplotlib only now: the JSON and the summary are written

    plots = plot_all(results, folder)
    print("\n" + table)
    if publish:
        DOCS.mkdir(parents=True, exist_ok=True)
        for path in [*plots, folder / "summary.md"]:
            shutil.copy2(path, DOCS / path.name)
        compact = {k: results[k] for k in ("created", "seconds", "machine", "summary")}
        (DOCS / "summary.json").write_text(json.dumps(compact, indent=1) + "\n")
        print(f"published {len(plots)} plots and the summary to {DOCS}")
    return plots


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="every benchmark's --quick")
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"some of {','.join(BENCHMARKS)}"
    )
    for name in BENCHMARKS:
        option = f"--{name.replace('_', '-')}-args"
        parser.add_argument(option, default="", help=f"more options for {name}")
    parser.add_argument("--publish", action="store_true", help="copy plots to docs/performance")
    parser.add_argument("--plot-only", type=Path, help="re-plot the results.json in this folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.plot_only:
        folder = args.plot_only
        results = json.loads((folder / "results.json").read_text())
        write_outputs(results, folder, args.publish)
        return 0
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        raise SystemExit(
            f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}"
        )
    folder = new_folder()
    started = time.monotonic()
    results: dict[str, Any] = {
        "benchmark": "all",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
    }
    for name in names:
        results[name] = run_one(name, folder, args.quick, getattr(args, f"{name}_args"))
    results["seconds"] = round(time.monotonic() - started, 1)
    write_outputs(results, folder, args.publish)
    print(f"\n{results['seconds']:.0f} s in all; results in {folder}")
    failed = [n for n in names if results[n].get("error") or results[n].get("exit_status")]
    missed = [row["what"] for row in results["summary"] if row.get("met") is False]
    if failed:
        print(f"failed: {', '.join(failed)}")
    if missed:
        print(f"targets missed: {'; '.join(missed)}")
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
