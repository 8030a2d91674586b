"""``GET /metrics`` under gunicorn with 2 workers: signed webhook events spread over both
workers, and every scrape (whichever worker answers) reports the sum (multiprocess mode)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from devsupport.net import free_port
from tests.facebook.test_facebook_integration import EXAMPLE, _gunicorn_options
from tests.support.facebook import APP_SECRET, TOKEN, VERIFY_TOKEN, batch, event, sign

pytestmark = pytest.mark.skipif(
    shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None,
    reason="gunicorn is not installed",
)
METRICS_TOKEN = "scrape-me-0123456789"


def value(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_metrics_sum_over_two_gunicorn_workers(graph, tmp_path):
    folder = tmp_path / "bot"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("*.db", "*.db-*"))
    config = folder / "chatbotmaker.toml"
    config.write_text(
        config.read_text() + f'\n[metrics]\nenabled = true\ntoken = "{METRICS_TOKEN}"\n'
    )
    port = free_port()
    env = {
        **os.environ,
        "FACEBOOK_PAGE_TOKEN": TOKEN,
        "FACEBOOK_APP_SECRET": APP_SECRET,
        "FACEBOOK_VERIFY_TOKEN": VERIFY_TOKEN,
        "FACEBOOK_GRAPH_URL": graph.url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/served.db",
        "CHATBOTMAKER_CONFIG": str(config),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        *_gunicorn_options(),
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "chatbotmaker_core.web:app_from_env()",
    ]
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            assert process.poll() is None, process.stdout.read()
            try:
                if requests.get(f"{base}/healthz", timeout=5).ok:
                    break
            except requests.RequestException:
                time.sleep(0.05)
        auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        assert requests.get(f"{base}/metrics", timeout=5).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert requests.get(f"{base}/metrics", headers=wrong, timeout=5).status_code == 401
        # Sent from several threads at once, rounds of 12 until both workers have handled
        # some (the kernel decides which worker accepts a connection).
        sent = 0
        with ThreadPoolExecutor(max_workers=6) as pool:
            for _ in range(10):
                answers = list(pool.map(lambda n: post_event(base, n), range(sent, sent + 12)))
                assert all(answer.ok for answer in answers)
                sent += 12
                if len(worker_pids(process.pid)) >= 2:
                    break
        # a redelivery of one of them: a duplicate
        body = json.dumps(batch([event("user0", "mid.0", "hi")])).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)}
        assert requests.post(f"{base}/webhook", data=body, headers=headers, timeout=10).ok
        scrapes = []
        for _ in range(6):
            scrape = requests.get(f"{base}/metrics", headers=auth, timeout=5)
            assert scrape.status_code == 200
            scrapes.append(scrape.text)
        assert len(worker_pids(process.pid)) == 2, "both workers handled events"
        for text in scrapes:
            assert value(text, 'chatbotmaker_turns_total{outcome="ok"}') == sent
            assert value(text, 'chatbotmaker_turns_total{outcome="duplicate"}') == 1
            assert value(text, "chatbotmaker_turn_duration_seconds_count") == sent + 1
            assert value(text, 'chatbotmaker_replies_total{outcome="sent"}') == len(
                graph.messages()
            )
            assert value(text, 'chatbotmaker_state_entries_total{state="welcome"}') == 3
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
        shutil.rmtree(tempfile_dir(process.pid), ignore_errors=True)
        assert METRICS_TOKEN not in output and TOKEN not in output


def post_event(base: str, number: int) -> requests.Response:
    """One signed message event of user0..user2 (so three users in all)."""
    body = json.dumps(batch([event(f"user{number % 3}", f"mid.{number}", "hi")])).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)}
    return requests.post(f"{base}/webhook", data=body, headers=headers, timeout=10)


def worker_pids(master_pid: int) -> set[str]:
    """The gunicorn workers that wrote metrics (prometheus_client's files end in _<pid>)."""
    return {p.stem.split("_")[-1] for p in Path(tempfile_dir(master_pid)).glob("*.db")}


def tempfile_dir(master_pid: int) -> str:
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"chatbotmaker-metrics-{master_pid}")
