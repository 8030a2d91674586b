"""Where a benchmark runs, described once: every benchmark's JSON carries ``machine()``.

Scripts in ``benchmarks/`` run as files (``python benchmarks/turns.py``): Python puts the
script's own folder first on ``sys.path``, so ``from machine import machine`` works from each
of them. The throwaway PostgreSQL server they start is ``devsupport.postgres``, the installed
workspace helper the tests use too (``make install``).
"""

from __future__ import annotations

import os
import platform
import sqlite3
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine(packages: Iterable[str] = ()) -> dict[str, Any]:
    """The machine, the Python and SQLite, the load now, and the versions of ``packages``.

    ``packages`` not installed are left out; the keys are the same for every benchmark.
    """
    memory = None
    try:
        memory = round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gib": memory,
        "system": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "packages": versions,
    }
