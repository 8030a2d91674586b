"""What every benchmark script shares about where it runs: the CPU, and the PostgreSQL helper.

Scripts in ``benchmarks/`` run as files (``python benchmarks/turns.py``), so this folder is on
``sys.path`` and ``from machine import cpu_model`` works from each of them.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def postgres_module() -> Any:
    """``tests/postgres.py``: starts a throwaway PostgreSQL server from the machine's binaries."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import postgres  # tests/postgres.py

    return postgres
