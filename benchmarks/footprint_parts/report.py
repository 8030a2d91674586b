"""What ``footprint.py`` prints and judges: the memory and start-up tables, the verdicts.

Also what it records of the machine, so that figures from two machines are not compared unawares.
"""

from __future__ import annotations

from typing import Any

from footprint_parts.memory import GROWTH_MIB


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
                f"{_per_turn(entry['growth_bytes_per_turn'])}; "
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


def _per_turn(value: float | None) -> str:
    """Bytes per turn, or why there is none (a run that stopped at its first sample)."""
    return "no turns between the samples" if value is None else f"{value:+.1f} B/turn"
