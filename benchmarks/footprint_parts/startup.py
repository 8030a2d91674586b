"""Start-up times: fresh processes timed round by round, plugin discovery, ``-X importtime``.

Every process gets a private bytecode cache (filled by the warm-ups), as an installed wheel has
one; see the ``footprint.py`` docstring for what is timed and why.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent.parent
ROOT = BENCHMARKS.parent
MIN_STARTUP_RUNS = 5

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
