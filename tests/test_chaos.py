"""The short chaos run (``benchmarks/chaos.py --short``): queued mode keeps its guarantees while
workers and web processes are SIGKILLed, PostgreSQL restarts and the Graph API fails or stalls."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from devsupport.postgres import find_postgres_bindir

# Run by `make chaos`, its own step of .ci/run after `make test` (docs/testing.md).
pytestmark = [pytest.mark.slow, pytest.mark.chaos, pytest.mark.postgres]

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
#: the hard bound of the run: chaos.py --short ends its waits within 240 s of the load's start;
#: past this, it is sent SIGTERM (it prints its diagnostics and stops its servers)
TIMEOUT = 320
#: how long it then has to print and stop before it is killed (6 minutes in all)
GRACE = 40


@pytest.mark.skipif(find_postgres_bindir() is None, reason="no PostgreSQL binaries to start")
def test_short_chaos_run_handles_every_event_once_in_order_and_delivers_every_reply(tmp_path):
    output = tmp_path / "chaos.json"
    run = subprocess.Popen(
        [sys.executable, "chaos.py", "--short", "--output", str(output)],
        cwd=BENCHMARKS,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed, _ = run.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        run.send_signal(signal.SIGTERM)
        try:
            printed, _ = run.communicate(timeout=GRACE)
        except subprocess.TimeoutExpired:
            run.kill()
            printed, _ = run.communicate()
        pytest.fail(f"the short chaos run took more than {TIMEOUT} s:\n{printed[-6000:]}")
    print(printed[-2000:])  # the figures, in CI's log (`make chaos` runs pytest with -rP)
    report = json.loads(output.read_text()) if output.exists() else {}
    assert run.returncode == 0, printed[-6000:]
    assert report["ok"] and report["problems"] == []
    assert report["events"] == 1000 and report["replies_received"] >= 1000
    # the run was chaotic: processes were killed and PostgreSQL restarted
    assert report["faults"].get("kill-worker", 0) + report["faults"].get("kill-web", 0) > 0
    assert sum(report["faults"].values()) >= 5
    assert "chaos verdict: ok" in printed
