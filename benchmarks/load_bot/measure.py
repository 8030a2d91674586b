"""What a scenario measured: latencies (as percentiles), throughput and CPU per component."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from load_bot.scenarios import Scenario
from load_bot.workload import Body, Event


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) with linear interpolation, or None without values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low = math.floor(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def measure(
    scenario: Scenario,
    events: list[Event],
    bodies: list[Body],
    t0: float,
    posted: float,
    t1: float,
    complete: bool,
    cpu_before: dict[str, float],
    cpu_after: dict[str, float],
) -> dict[str, Any]:
    post = [b.done - b.started for b in bodies if b.done is not None and b.started is not None]
    reply = [
        e.replied_at - e.sent_at
        for e in events
        if e.replied_at is not None and e.sent_at is not None
    ]
    first = min((b.started for b in bodies if b.started is not None), default=t0)
    if scenario.expects_replies:
        last = max((e.replied_at for e in events if e.replied_at is not None), default=t1)
        handled = sum(1 for e in events if e.replied_at is not None)
    else:
        last = max((b.done for b in bodies if b.done is not None), default=posted)
        handled = sum(len(b.events) for b in bodies if b.done is not None and not b.redelivery)
    wall = max(last - first, 1e-9)
    window = max(t1 - t0, 1e-9)
    cpu = {
        name: round((cpu_after[name] - cpu_before.get(name, 0.0)) / window, 2) for name in cpu_after
    }
    statuses = Counter(str(b.status) for b in bodies)
    return {
        "events": len(events),
        "bodies": len(bodies),
        "batched_bodies": sum(1 for b in bodies if len(b.events) > 1),
        "redeliveries": sum(1 for b in bodies if b.redelivery),
        "post_retries": sum(max(b.attempts - 1, 0) for b in bodies),
        "unsent_bodies": sum(1 for b in bodies if b.started is None),
        "statuses": dict(statuses),
        "complete": complete,
        "seconds_posting": round(posted - first, 3),
        "seconds_to_last_reply": round(wall, 3),
        "throughput_eps": round(handled / wall, 1),
        "post_ms": {"p50": _ms(percentile(post, 0.5)), "p99": _ms(percentile(post, 0.99))},
        "reply_ms": {"p50": _ms(percentile(reply, 0.5)), "p99": _ms(percentile(reply, 0.99))},
        # CPU used during the timed window, in cores (1.0 = one core busy all along), and
        # per event handled: the latter barely depends on what else the machine runs
        "cpu_cores": cpu,
        "cpu_ms_per_event": {
            name: round((cpu_after[name] - cpu_before.get(name, 0.0)) * 1000 / handled, 2)
            for name in cpu_after
            if handled and name not in ("machine", "other")
        },
    }
