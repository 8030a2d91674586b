"""The tables printed at the end of a run: latencies and checks, then CPU used per component."""

from __future__ import annotations

from typing import Any


def _fmt(value: Any, width: int) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "NO"
    elif isinstance(value, float):
        text = f"{value:.0f}" if value >= 100 else f"{value:.1f}"
    else:
        text = str(value)
    return text.rjust(width)


def table(results: list[dict[str, Any]]) -> str:
    head = (
        f"{'scenario':<20}{'events':>7}{'ev/s':>8}{'POST p50':>10}{'p99 ms':>8}"
        f"{'reply p50':>11}{'p99 ms':>8}{'once':>6}{'order':>7}{'dup':>5}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        post = r.get("post_ms", {})
        reply = r.get("reply_ms", {})
        lines.append(
            f"{r['scenario']:<20}{_fmt(r.get('events'), 7)}{_fmt(r.get('throughput_eps'), 8)}"
            f"{_fmt(post.get('p50'), 10)}{_fmt(post.get('p99'), 8)}"
            f"{_fmt(reply.get('p50'), 11)}{_fmt(reply.get('p99'), 8)}"
            f"{_fmt(r.get('exactly_once'), 6)}{_fmt(r.get('order_ok'), 7)}"
            f"{_fmt(r.get('duplicate_replies'), 5)}"
        )
    return "\n".join(lines)


def cpu_table(results: list[dict[str, Any]], nproc: int | None) -> str:
    names = ("gunicorn", "workers", "postgres", "graph", "client", "other", "machine")
    head = f"{'cores used':<20}" + "".join(f"{n:>10}" for n in names)
    lines = [head, "-" * len(head)]
    for r in results:
        cpu = r.get("cpu_cores") or {}
        lines.append(f"{r['scenario']:<20}" + "".join(_fmt(cpu.get(n), 10) for n in names))
    if nproc:
        lines.append(
            f"(machine: every process, {nproc} = all cores busy; other: processes not started "
            "by this run)"
        )
    return "\n".join(lines)
