"""Log lines under gunicorn carry the time and the level, like gunicorn's own."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from devsupport.net import free_port
from tests.support.cli import FIXTURES, write_config

GUNICORN = Path(sys.executable).with_name("gunicorn")


@pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed")
def test_our_log_lines_under_gunicorn_have_time_and_level(tmp_path):
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/bot.db")
    port = free_port()
    from gunicorn.config import KNOWN_SETTINGS

    options = (
        ["--no-control-socket"]
        if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS)
        else []
    )
    process = subprocess.Popen(
        [
            str(GUNICORN),
            *options,
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "chatbotmaker_core.web:app_from_env()",
        ],
        env={**os.environ, "CHATBOTMAKER_CONFIG": str(config), "PYTHONPATH": str(FIXTURES)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(400):  # readiness, not speed: at most ~20 s of polling
            if process.poll() is not None:
                break
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok:
                    break
            except requests.RequestException:
                time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    ours = [line for line in err.splitlines() if "receives no webhooks" in line]
    assert len(ours) == 1, err
    assert re.fullmatch(
        r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[WARNING\] "
        r"chatbotmaker_core\.web: messenger DevMessenger receives no webhooks",
        ours[0],
    ), ours[0]
