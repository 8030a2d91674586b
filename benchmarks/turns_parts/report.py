"""From rounds to figures: ratios measured side by side, verdicts against the targets, tables.

Also what ``turns.py`` records of the machine, so that figures from two machines are not
compared unawares.
"""

from __future__ import annotations

import statistics
from typing import Any

from turns_parts.rounds import BACKEND_LABELS, short_users

TARGETS = {
    "ours_over_seed_at_100k": 10.0,  # at least, on each backend
    "ours_over_raw_sqlite": 0.33,  # at least, at every size (raw psycopg's ratio is reported)
    # per-turn cost at the largest size (1M users) / at the smallest (1k), at most, each backend
    "cost_growth": 1.5,
}


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
                f"{short_users(int(users))} {value:,.0f} us"
                for users, value in found["ours_minus_raw_us"].items()
            )
            print(f"  framework cost per turn (ours - raw, medians): {cells}")
    print()
    for label, value, ok in results["verdicts"]:
        print(f"{'PASS' if ok else 'MISS'}  {label}: {value}")
