"""The short chaos run (``benchmarks/chaos.py --short``): queued mode keeps its guarantees while
workers and web processes are SIGKILLed, PostgreSQL restarts and the Graph API fails or stalls."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devsupport.postgres import find_postgres_bindir

# Not in `make test` (so not in CI): on a loaded CI machine one run stalled for 11 minutes
# after a PostgreSQL restart and its harness failed reading the verdict; `make chaos` runs it.
pytestmark = [pytest.mark.slow, pytest.mark.chaos, pytest.mark.postgres]

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.skipif(find_postgres_bindir() is None, reason="no PostgreSQL binaries to start")
def test_short_chaos_run_handles_every_event_once_in_order_and_delivers_every_reply(tmp_path):
    output = tmp_path / "chaos.json"
    done = subprocess.run(
        [sys.executable, "chaos.py", "--short", "--output", str(output)],
        cwd=BENCHMARKS,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    report = json.loads(output.read_text()) if output.exists() else {}
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert report["ok"] and report["problems"] == []
    assert report["events"] == 1000 and report["replies_received"] >= 1000
    # the run was chaotic: processes were killed and PostgreSQL restarted
    assert report["faults"].get("kill-worker", 0) + report["faults"].get("kill-web", 0) > 0
    assert sum(report["faults"].values()) >= 5
    assert "chaos verdict: ok" in done.stdout
