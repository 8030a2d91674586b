"""PNG plots of one benchmark run (``benchmarks/run.py``), from its ``results.json``.

    .venv/bin/python benchmarks/plots.py benchmarks/results/latest/results.json

One function per figure, each reading one section of the results and skipping quietly when
that section is missing (a run with ``--only``). matplotlib is a benchmark-only dependency
(``make bench`` installs the ``bench`` dependency group); the Agg backend needs no display.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend
from summary import queued_curve, scenarios  # noqa: E402 - benchmarks/ is on sys.path

COLOURS = {"ours": "#1f77b4", "raw": "#7f7f7f", "seed": "#d62728", "rev": "#9467bd"}
BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def turns_figure(turns: dict[str, Any], out: Path) -> Path | None:
    """Turns per second against the number of existing users, one panel per database."""
    sizes = turns.get("sizes") or []
    backends = [b for b in BACKENDS if any(s.get("backend") == b for s in sizes)]
    if not backends:
        return None
    fig, axes = plt.subplots(1, len(backends), figsize=(5.5 * len(backends), 4.2), squeeze=False)
    for ax, backend in zip(axes[0], backends, strict=True):
        entries = sorted((s for s in sizes if s["backend"] == backend), key=lambda s: s["users"])
        keys = sorted({k for s in entries for k in s["contenders"]}, key=list(COLOURS).index)
        for key in keys:
            points = [
                (s["users"], s["contenders"][key]["turns_per_second"])
                for s in entries
                if key in s["contenders"]
            ]
            label = turns.get("labels", {}).get(backend, {}).get(key, key)
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", label=label, color=COLOURS.get(key))
            for x, y in points:
                ax.annotate(
                    f"{y:,.0f}",
                    (x, y),
                    textcoords="offset points",
                    xytext=(0, 5),
                    ha="center",
                    fontsize=7,
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("existing users")
        ax.set_ylabel("turns per second (median round)")
        ax.set_title(f"Turns on {BACKENDS[backend]}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, out)


def ratios_figure(turns: dict[str, Any], out: Path) -> Path | None:
    """chatbotmaker over 0.0.13 and over raw SQL, against users, with the targets."""
    ratios = turns.get("ratios") or {}
    if not ratios:
        return None
    fig, (seed_ax, raw_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    for backend, table in ratios.items():
        style = "-" if backend == "sqlite" else "--"
        for ax, name in ((seed_ax, "ours_over_seed"), (raw_ax, "ours_over_raw")):
            points = sorted((int(u), v["ratio"]) for u, v in (table.get(name) or {}).items())
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, style, marker="o", label=BACKENDS.get(backend, backend))
    seed_ax.axhline(10, color="red", alpha=0.5, linewidth=1, label="target ≥ 10x at 100k")
    raw_ax.axhline(0.2, color="red", alpha=0.5, linewidth=1, label="target ≥ 0.20")
    seed_ax.set_yscale("log")
    seed_ax.set_title("chatbotmaker / chatbotmaker 0.0.13")
    raw_ax.set_title("chatbotmaker / raw driver (same SQL by hand)")
    raw_ax.set_ylim(0, 1)
    for ax in (seed_ax, raw_ax):
        ax.set_xscale("log")
        ax.set_xlabel("existing users")
        ax.set_ylabel("ratio of turns per second")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, out)


def webhook_figure(webhook: dict[str, Any], out: Path) -> Path | None:
    """Events per second and latency per scenario, bare Flask first."""
    results = list(scenarios(webhook).values())
    if not results:
        return None
    names = [r["scenario"] for r in results]
    fig, (rate_ax, lat_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    bars = rate_ax.bar(names, [r["throughput_eps"] for r in results], color="#1f77b4")
    rate_ax.bar_label(bars, fmt="%.0f", fontsize=8)
    rate_ax.set_ylabel("events per second")
    rate_ax.set_title("Webhook throughput (gunicorn, signed Meta payloads)")
    positions = range(len(results))
    for offset, (field, name) in enumerate((("post_ms", "POST"), ("reply_ms", "reply"))):
        for q, alpha in (("p50", 0.9), ("p99", 0.45)):
            values = [(r.get(field) or {}).get(q) or 0 for r in results]
            lat_ax.bar(
                [p + offset * 0.4 - 0.2 for p in positions],
                values,
                width=0.38,
                alpha=alpha,
                color=("#1f77b4", "#ff7f0e")[offset],
                label=f"{name} {q}",
            )
    lat_ax.set_xticks(list(positions), names)
    lat_ax.set_yscale("log")
    lat_ax.set_ylabel("milliseconds")
    lat_ax.set_title("Latency: POST answered, reply at the Graph API")
    lat_ax.legend(fontsize=8)
    for ax in (rate_ax, lat_ax):
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, out)


def scaleout_figure(webhook: dict[str, Any], out: Path) -> Path | None:
    """Queued mode: events per second and cores used against the number of queue workers."""
    curve = queued_curve(webhook)
    if not curve:
        return None
    workers = [n for n, _ in curve]
    queued = [r for _, r in curve]
    fig, rate_ax = plt.subplots(figsize=(6.5, 4.2))
    rate_ax.plot(workers, [r["throughput_eps"] for r in queued], marker="o", label="events/s")
    rate_ax.set_xlabel("queue workers (chatbotmaker worker processes)")
    rate_ax.set_ylabel("events per second")
    rate_ax.set_xticks(workers)
    rate_ax.set_ylim(bottom=0)
    cores_ax = rate_ax.twinx()
    for part, colour in (("machine", "black"), ("workers", "#2ca02c"), ("postgres", "#9467bd")):
        values = [(r.get("cpu_cores") or {}).get(part, 0) for r in queued]
        cores_ax.plot(workers, values, "--", marker=".", color=colour, label=f"cores: {part}")
    nproc = (webhook.get("machine") or {}).get("nproc")
    if nproc:
        cores_ax.axhline(nproc, color="red", alpha=0.4, linewidth=1)
    cores_ax.set_ylabel("CPU cores busy")
    cores_ax.set_ylim(bottom=0)
    lines = rate_ax.get_legend_handles_labels()
    more = cores_ax.get_legend_handles_labels()
    rate_ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="lower right")
    rate_ax.set_title("Queued mode on PostgreSQL: scale-out")
    rate_ax.grid(True, alpha=0.3)
    return _save(fig, out)


def footprint_figure(footprint: dict[str, Any], out: Path) -> Path | None:
    """Resident memory against turns handled, per database, and start-up times."""
    memory = {k: v for k, v in (footprint.get("memory") or {}).items() if v.get("curve")}
    startup = footprint.get("startup") or {}
    if not memory and not startup:
        return None
    fig, (mem_ax, start_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    for backend, entry in memory.items():
        points = [(p["turns"], p["rss_mib"]) for p in entry["curve"] if p.get("rss_mib")]
        xs, ys = zip(*points, strict=True)
        mem_ax.plot(
            xs,
            ys,
            marker=".",
            label=f"{BACKENDS.get(backend, backend)} "
            f"({entry.get('verdict', '?')}, {entry.get('growth_mib', 0):+.1f} MiB)",
        )
    mem_ax.set_xlabel("turns handled")
    mem_ax.set_ylabel("resident memory (MiB)")
    mem_ax.set_ylim(bottom=0)
    mem_ax.set_title("Worker memory over turns")
    mem_ax.grid(True, alpha=0.3)
    mem_ax.legend(fontsize=8)
    bars: list[tuple[str, float]] = []
    for key, label in (
        ("python_pass", "python -c pass"),
        ("import_core", "import core"),
        ("cli_help", "chatbotmaker --help"),
    ):
        command = (startup.get("commands") or {}).get(key)
        if command:
            bars.append((label, command["median_ms"]))
    discovery = startup.get("plugin_discovery")
    if discovery:
        bars.append(("plugin discovery\n(in process)", discovery["median_ms"]))
    if bars:
        drawn = start_ax.bar([b[0] for b in bars], [b[1] for b in bars], color="#ff7f0e")
        start_ax.bar_label(drawn, fmt="%.0f ms", fontsize=8)
        start_ax.tick_params(axis="x", labelsize=8)
    start_ax.set_ylabel("milliseconds (median)")
    start_ax.set_title("Start-up")
    start_ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, out)


FIGURES: dict[str, tuple[str, Callable[[dict[str, Any], Path], Path | None]]] = {
    "turns.png": ("turns", turns_figure),
    "ratios.png": ("turns", ratios_figure),
    "webhook.png": ("webhook", webhook_figure),
    "scaleout.png": ("webhook", scaleout_figure),
    "footprint.png": ("footprint", footprint_figure),
}


def plot_all(results: dict[str, Any], folder: Path) -> list[Path]:
    """Every figure whose section is in ``results``, written into ``folder``."""
    written = []
    for name, (section, draw) in FIGURES.items():
        if results.get(section):
            path = draw(results[section], folder / name)
            if path is not None:
                written.append(path)
    return written


if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/latest/results.json")
    for path in plot_all(json.loads(source.read_text()), source.parent):
        print(path)
