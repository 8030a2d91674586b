"""The headline figures of a benchmark run, checked against the targets, as rows and Markdown.

``summarise(results)`` reads the benchmarks' JSON (as combined by ``run.py``: turns, webhook,
the webhook's paced pass ``webhook_rate``, footprint) and gives one row per target:
``{"what", "value", "target", "met", "note"}`` (``met`` is None for a figure that is only
reported, such as the ratio to bare Flask). ``markdown(rows)`` renders them, with the turns/s
and webhook tables, as the Markdown that docs/performance.md shows.
"""

from __future__ import annotations

from typing import Any

TARGETS = {
    "seed_at_100k": 10.0,  # chatbotmaker / 0.0.13 at 100k users, at least
    "raw": 0.33,  # chatbotmaker / raw sqlite3, at least, at every size
    "growth": 1.5,  # per-turn cost at 1M users / at 1k, at most
    "handwritten": 0.6,  # inline webhook events/s / the hand-written contender's, at least
    "saturated": 0.9,  # share of the cores busy that counts as saturated
    "queued": 0.8,  # queued (2 workers) events/s / inline PostgreSQL's, at least
    "rate_latency": 2.0,  # queued-2 reply p50 / inline-pg's at a steady rate, at most
    "steady": 0.9,  # events/s served / offered, at least, for a pass to count as steady
}
BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _row(what: str, value: str, target: str, met: bool | None, note: str = "") -> dict[str, Any]:
    return {"what": what, "value": value, "target": target, "met": met, "note": note}


def _turn_rows(turns: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for backend, ratios in (turns.get("ratios") or {}).items():
        name = BACKENDS.get(backend, backend)
        over_seed = ratios.get("ours_over_seed") or {}
        if "100000" in over_seed:
            ratio = over_seed["100000"]["ratio"]
            rows.append(
                _row(
                    f"turns, {name}: chatbotmaker / 0.0.13 at 100k users",
                    f"{ratio:.1f}x",
                    "≥ 10x",
                    ratio >= TARGETS["seed_at_100k"],
                )
            )
        over_raw = ratios.get("ours_over_raw") or {}
        if over_raw:
            worst_users, worst = min(over_raw.items(), key=lambda item: item[1]["ratio"])
            driver = "sqlite3" if backend == "sqlite" else "psycopg"
            values = ", ".join(f"{int(u):,}: {v['ratio']:.2f}" for u, v in over_raw.items())
            rows.append(
                _row(
                    f"turns, {name}: chatbotmaker / raw {driver}, lowest over sizes",
                    f"{worst['ratio']:.2f} (at {int(worst_users):,})",
                    f"≥ {TARGETS['raw']:.2f}"
                    if backend == "sqlite"
                    else f"(≥ {TARGETS['raw']:.2f} is set for SQLite)",
                    worst["ratio"] >= TARGETS["raw"] if backend == "sqlite" else None,
                    values,
                )
            )
        growth = ratios.get("cost_growth") or {}
        if "ours" in growth:
            rows.append(
                _row(
                    f"turns, {name}: cost per turn at {int(growth['to']):,} / at "
                    f"{int(growth['from']):,} users",
                    f"{growth['ours']:.2f}x",
                    "≤ 1.5x",
                    growth["ours"] <= TARGETS["growth"] if int(growth["to"]) >= 1_000_000 else None,
                    ", ".join(
                        f"{k}: {v:.2f}x" for k, v in growth.items() if k not in ("from", "to")
                    ),
                )
            )
    return rows


def scenarios(webhook: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The webhook scenarios that ran, by name, in the order they ran."""
    return {r["scenario"]: r for r in webhook.get("results") or [] if r.get("throughput_eps")}


def queued_curve(webhook: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """``(queue workers, result)`` of the queued scenarios (``queued-N``), by workers."""
    return sorted(
        (
            (int(name.split("-")[1]), r)
            for name, r in scenarios(webhook).items()
            if name.startswith("queued-")
        ),
        key=lambda item: item[0],
    )


def paired_ratio(webhook: dict[str, Any], a: str, b: str) -> float:
    """``a``'s throughput over ``b``'s: the median of the rounds' ratios when the run had
    rounds (``webhook_load.py --rounds``), else the ratio of the two throughputs."""
    paired = (webhook.get("ratios") or {}).get(f"{a}/{b}")
    if paired is not None:
        return float(paired)
    found = scenarios(webhook)
    return float(found[a]["throughput_eps"] / found[b]["throughput_eps"])


def _rounds_note(webhook: dict[str, Any]) -> str:
    rounds = webhook.get("rounds") or 1
    return f"; median of {rounds} rounds' ratios" if rounds > 1 else ""


def _webhook_rows(webhook: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    found = scenarios(webhook)
    bare = found.get("bare")
    checks_ok = all(r.get("ok", True) for r in found.values())
    for database in ("sqlite", "pg"):
        name, hand = f"inline-{database}", found.get(f"handwritten-{database}")
        if hand and name in found:
            value = paired_ratio(webhook, name, f"handwritten-{database}")
            rows.append(
                _row(
                    f"webhook {name} / hand-written (events/s)",
                    f"{value:.2f} ({found[name]['throughput_eps']:.0f} / "
                    f"{hand['throughput_eps']:.0f})",
                    f"≥ {TARGETS['handwritten']}",
                    value >= TARGETS["handwritten"],
                    f"gunicorn CPU per event {_cpu(found[name], 'gunicorn')} ms, "
                    f"hand-written {_cpu(hand, 'gunicorn')} ms{_rounds_note(webhook)}",
                )
            )
    for name in ("inline-sqlite", "inline-pg"):
        if bare and name in found:  # reported only: bare Flask does none of the work
            value = paired_ratio(webhook, name, "bare")
            rows.append(
                _row(
                    f"webhook {name} / bare Flask (events/s)",
                    f"{value:.2f} ({found[name]['throughput_eps']:.0f} / "
                    f"{bare['throughput_eps']:.0f})",
                    "reported",
                    None,
                    f"bare Flask reads the body and answers 200 (gunicorn CPU per event "
                    f"{_cpu(bare, 'gunicorn')} ms)",
                )
            )
    if "queued-2" in found and "inline-pg" in found:
        queued2, inline = found["queued-2"], found["inline-pg"]
        value = paired_ratio(webhook, "queued-2", "inline-pg")
        cpu = {name: sum(r["cpu_ms_per_event"].get(k, 0) for k in ("gunicorn", "workers",
               "postgres")) for name, r in (("queued", queued2), ("inline", inline))}  # fmt: skip
        rows.append(
            _row(
                "webhook queued-2 / inline-pg (events/s)",
                f"{value:.2f} ({queued2['throughput_eps']:.0f} / {inline['throughput_eps']:.0f})",
                f"≥ {TARGETS['queued']}",
                value >= TARGETS["queued"],
                f"CPU per event (web + workers + PostgreSQL): queued {cpu['queued']:.1f} ms, "
                f"inline {cpu['inline']:.1f} ms{_rounds_note(webhook)}",
            )
        )
    queued = queued_curve(webhook)
    if len(queued) >= 2:
        nproc = (webhook.get("machine") or {}).get("nproc") or 1
        curve = [(workers, r["throughput_eps"]) for workers, r in queued]
        saturated_at = None
        for workers, r in queued:
            cores = r.get("cpu_cores") or {}
            if cores.get("machine", 0) >= TARGETS["saturated"] * nproc:
                saturated_at = (workers, "CPU", cores)
                break
            if cores.get("postgres", 0) >= TARGETS["saturated"]:
                saturated_at = (workers, "PostgreSQL", cores)
                break
        grows = all(
            b[1] > a[1]
            for a, b in zip(curve, curve[1:], strict=False)
            if saturated_at is None or a[0] < saturated_at[0]
        )
        busiest = max(
            (r.get("cpu_cores") or {} for _, r in queued), key=lambda c: c.get("machine", 0)
        )
        note = (
            f"neither CPU nor PostgreSQL saturated (at most {busiest.get('machine', 0):.2f} of "
            f"{nproc} cores busy, PostgreSQL {busiest.get('postgres', 0):.2f})"
            if saturated_at is None
            else (
                f"{saturated_at[1]} saturated at {saturated_at[0]} "
                f"worker{'s' if saturated_at[0] > 1 else ''} "
                f"({saturated_at[2].get('machine', 0):.2f} of {nproc} cores busy, "
                f"PostgreSQL {saturated_at[2].get('postgres', 0):.2f})"
            )
        )
        rows.append(
            _row(
                f"queued: events/s with {', '.join(str(w) for w, _ in queued)} workers",
                " → ".join(f"{eps:.0f}" for _, eps in curve),
                "grows until saturated",
                grows,
                note,
            )
        )
    if found:
        rows.append(
            _row(
                "webhook: every event handled once, in per-user order",
                "yes" if checks_ok else "NO",
                "all scenarios",
                checks_ok,
            )
        )
    return rows


def _cpu(result: dict[str, Any], group: str) -> Any:
    return (result.get("cpu_ms_per_event") or {}).get(group, "–")


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _rate_rows(rate: dict[str, Any]) -> list[dict[str, Any]]:
    """The paced pass (``run.py`` runs ``webhook_load.py --rate 40 --scenarios
    inline-pg,queued-2``): queued-2's reply p50 over inline-pg's, both below capacity."""
    found = scenarios(rate)
    offered = (rate.get("load") or {}).get("rate") or 0
    queued, inline = found.get("queued-2"), found.get("inline-pg")
    if not queued or not inline:
        return []
    q50 = (queued.get("reply_ms") or {}).get("p50")
    i50 = (inline.get("reply_ms") or {}).get("p50")
    if not q50 or not i50:
        return []
    ratio = q50 / i50
    served = {n: r["throughput_eps"] for n, r in (("queued-2", queued), ("inline-pg", inline))}
    lagging = [n for n, eps in served.items() if offered and eps < TARGETS["steady"] * offered]
    failed = [n for n, r in (("queued-2", queued), ("inline-pg", inline)) if not r.get("ok", True)]
    note = ", ".join(f"{n} served {eps:.1f} ev/s" for n, eps in served.items())
    if lagging:
        note += f"; {', '.join(lagging)} fell behind the offered rate"
    if failed:
        note += f"; checks failed in {', '.join(failed)}"
    return [
        _row(
            f"reply p50 at a steady {offered:g} events/s: queued-2 / inline-pg",
            f"{ratio:.2f}x ({_ms(q50)} / {_ms(i50)} ms)",
            f"≤ {TARGETS['rate_latency']:g}x",
            ratio <= TARGETS["rate_latency"] and not failed,
            note,
        )
    ]


def _footprint_rows(footprint: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for backend, entry in (footprint.get("memory") or {}).items():
        if "growth_mib" not in entry:
            continue
        rows.append(
            _row(
                f"memory, {BACKENDS.get(backend, backend)}: RSS after {entry['to_turns']:,} turns "
                f"- after {entry['from_turns']:,}",
                f"{entry['growth_mib']:+.1f} MiB ({entry['rss_from_mib']:.1f} → "
                f"{entry['rss_to_mib']:.1f})",
                f"flat (≤ {entry.get('limit_mib', 0):.1f} MiB)",
                entry.get("verdict") == "flat",
            )
        )
    startup = footprint.get("startup") or {}
    commands = startup.get("commands") or {}
    if "cli_help" in commands:
        base = commands.get("python_pass", {}).get("median_ms")
        rows.append(
            _row(
                "start-up: chatbotmaker --help (median)",
                f"{commands['cli_help']['median_ms']:.0f} ms",
                "reported",
                None,
                f"python -c pass {base:.0f} ms" if base else "",
            )
        )
    discovery = startup.get("plugin_discovery")
    if discovery:
        rows.append(
            _row(
                "start-up: plugin discovery (median, in process)",
                f"{discovery['median_ms']:.1f} ms",
                "reported",
                None,
                f"{discovery.get('plugin_count', '?')} plugins",
            )
        )
    return rows


def summarise(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for section, build in (
        ("turns", _turn_rows),
        ("webhook", _webhook_rows),
        ("webhook_rate", _rate_rows),
        ("footprint", _footprint_rows),
    ):
        data = results.get(section)
        if data and not data.get("error"):
            rows += build(data)
    return rows


def _turns_table(turns: dict[str, Any]) -> list[str]:
    lines = [
        "| database | users | chatbotmaker | raw driver | 0.0.13 | / raw | / 0.0.13 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    ratios = turns.get("ratios") or {}
    for entry in turns.get("sizes") or []:
        backend, users = entry["backend"], entry["users"]
        rate = {k: c.get("turns_per_second") for k, c in entry["contenders"].items()}
        table = ratios.get(backend) or {}
        raw = (table.get("ours_over_raw") or {}).get(str(users), {}).get("ratio")
        seed = (table.get("ours_over_seed") or {}).get(str(users), {}).get("ratio")
        cells = [f"{rate[k]:,.0f}" if rate.get(k) else "–" for k in ("ours", "raw", "seed")]
        lines.append(
            f"| {BACKENDS.get(backend, backend)} | {users:,} | {' | '.join(cells)} | "
            f"{f'{raw:.2f}' if raw else '–'} | {f'{seed:.1f}x' if seed else '–'} |"
        )
    return lines


def _webhook_table(webhook: dict[str, Any]) -> list[str]:
    lines = [
        "| scenario | events/s | / bare | / hand-written | POST p50 / p99 ms | "
        "reply p50 / p99 ms | cores busy | once, in order |",
        "|---|---:|---:|---:|---:|---:|---:|:-:|",
    ]
    found = scenarios(webhook)
    bare = found.get("bare", {}).get("throughput_eps")

    def pair(value: dict[str, Any] | None) -> str:
        if not value or value.get("p50") is None:
            return "–"
        return f"{value['p50']:,.0f} / {value['p99']:,.0f}"

    for name, r in found.items():
        versus = f"{paired_ratio(webhook, name, 'bare'):.2f}" if bare else "–"
        database = "sqlite" if (r.get("setup") or {}).get("database") == "sqlite" else "pg"
        hand_name = f"handwritten-{database}"
        by_hand = (
            f"{paired_ratio(webhook, name, hand_name):.2f}"
            if hand_name in found and name not in ("bare", hand_name)
            else "–"
        )
        once = (
            "–"
            if name == "bare"
            else ("yes" if r.get("exactly_once") and r.get("order_ok") else "NO")
        )
        cores = (r.get("cpu_cores") or {}).get("machine")
        lines.append(
            f"| {name} | {r['throughput_eps']:,.0f} | {versus} | {by_hand} | "
            f"{pair(r.get('post_ms'))} | {pair(r.get('reply_ms'))} | "
            f"{cores if cores is not None else '–'} | {once} |"
        )
    return lines


def markdown(rows: list[dict[str, Any]], results: dict[str, Any] | None = None) -> str:
    marks = {True: "met", False: "**missed**", None: "–"}
    lines = ["| figure | measured | target | verdict | detail |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['what']} | {row['value']} | {row['target']} | "
            f"{marks[row['met']]} | {row['note']} |"
        )
    if results:
        if results.get("turns") and not results["turns"].get("error"):
            lines += ["", "Turns per second (median round):", "", *_turns_table(results["turns"])]
        if results.get("webhook") and not results["webhook"].get("error"):
            lines += ["", "Webhook end to end:", "", *_webhook_table(results["webhook"])]
        rate = results.get("webhook_rate")
        if rate and not rate.get("error"):
            offered = (rate.get("load") or {}).get("rate") or 0
            title = f"Webhook at a steady {offered:g} events/s (below capacity):"
            lines += ["", title, "", *_webhook_table(rate)]
    return "\n".join(lines) + "\n"
