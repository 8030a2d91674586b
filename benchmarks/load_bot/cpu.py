"""CPU accounting from Linux's ``/proc`` (empty elsewhere): the CPU seconds of each group of
process trees, of the load test itself and of the whole machine, to tell what each part costs.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of it and of its children it has reaped)."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as file:
                stat = file.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # after the name: state ppid ... utime(14) stime cutime cstime, numbered from 3
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
        table[int(name)] = (int(fields[1]), ticks / _TICK)
    return table


def _system_busy() -> float:
    with open("/proc/stat") as file:
        values = [int(v) for v in file.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / _TICK


def cpu_snapshot(roots: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far of each named group of process trees, of this process (the load
    test's client and its reader of the Graph API's log) and of the whole machine."""
    if not Path("/proc/stat").exists():
        return {}
    table = _process_table()
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (ppid, _) in table.items():
        children[ppid].append(pid)
    snapshot = {}
    for name, pids in roots.items():
        total, todo, seen = 0.0, list(pids), set()
        while todo:
            pid = todo.pop()
            if pid in seen or pid not in table:
                continue
            seen.add(pid)
            total += table[pid][1]
            todo.extend(children[pid])
        snapshot[name] = total
    own = os.times()
    snapshot["client"] = own.user + own.system
    snapshot["machine"] = _system_busy()
    # whatever else ran meanwhile (other jobs on a shared machine): it skews the figures
    snapshot["other"] = snapshot["machine"] - sum(v for k, v in snapshot.items() if k != "machine")
    return snapshot
