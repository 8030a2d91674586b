"""``jobs`` refuses to retry what cannot be retried; the worker keeps message texts out of
INFO logs."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from chatbotmaker_core import Bot, Message
from chatbotmaker_core.queued.worker import WorkerSettings, work
from tests.support.cli import FIXTURES, run_main, write_config

pytestmark = pytest.mark.postgres


@pytest.fixture
def queued(pg_url, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES))
    config = write_config(tmp_path, pg_url, extra='[bot]\nmode = "queued"\njob_retry_wait = 0')
    bot = Bot.from_config(str(config))
    bot.queue.apply_schema()
    yield bot, str(config)
    bot.database.dispose()


def drain(bot):
    work(bot.queue, WorkerSettings(wait=False, check_interval=0.5))


def job_ids(bot, status):
    with bot.database.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id FROM procrastinate_jobs WHERE status = :s ORDER BY id"), {"s": status}
        )
        return [row.id for row in rows]


def test_retrying_a_job_that_cannot_be_retried_says_which_and_why(queued, capsys):
    bot, config = queued
    bot.receive(Message("ada", "hello", message_id="m1"))
    drain(bot)
    bot.receive(Message("ada", "again", message_id="m2"))  # left waiting: todo
    done, waiting = job_ids(bot, "succeeded")[0], job_ids(bot, "todo")[0]
    code, out, err = run_main(
        capsys, "jobs", config, "--status", "succeeded", "--retry", str(done), str(waiting), "999"
    )
    assert code == 1
    assert err.splitlines() == [
        f"error: cannot retry job {done}: it already succeeded; only failed jobs can be retried",
        f"error: cannot retry job {waiting}: it is already waiting for a worker (todo); "
        "only failed jobs can be retried",
        "error: cannot retry job 999: no such job; `chatbotmaker jobs` lists the failed ones",
    ]
    assert "2 succeeded jobs" in out and "retried" not in out
    assert job_ids(bot, "todo") == [waiting]


def test_the_worker_logs_no_message_text_at_info(queued, caplog):
    bot, _ = queued
    secret = "my-address-is-42-rue-privee"
    caplog.set_level(logging.INFO)
    bot.receive(Message("ada", secret, message_id="m1"))
    bot.receive(Message("ada", "menu", message_id="m2"))
    drain(bot)
    assert job_ids(bot, "succeeded")  # the jobs ran, and were logged
    assert any("chatbotmaker.turn[" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert record.levelno >= logging.INFO
        assert secret not in record.getMessage()
        assert secret not in repr(vars(record))  # the structured extras too
        assert "Size?" not in repr(vars(record))  # nor the bot's replies


METRICS_TOKEN = "worker-scrape-secret"


def test_a_queue_worker_serves_its_metrics(pg_url, tmp_path, monkeypatch):
    """`chatbotmaker worker` with [metrics] enabled serves GET /metrics on [metrics] port:
    the turns it ran, the replies it sent and the queue's depth by status."""
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    import requests

    from devsupport.net import free_port

    port = free_port()
    extra = (
        f'[bot]\nmode = "queued"\njob_retry_wait = 0\n'
        f'[metrics]\nenabled = true\nport = {port}\ntoken = "{METRICS_TOKEN}"\n'
    )
    config = write_config(tmp_path, pg_url, extra=extra)
    monkeypatch.syspath_prepend(str(FIXTURES))
    env = {**os.environ, "PYTHONPATH": str(FIXTURES)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    bot = Bot.from_config(str(config))
    try:
        bot.queue.apply_schema()
        for number in range(5):
            bot.receive(Message(f"user{number % 2}", "hello", message_id=f"m{number}"))
        worker = subprocess.Popen(
            [sys.executable, "-m", "chatbotmaker_core.cli", "worker", str(config)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            scrape, deadline = "", time.monotonic() + 60
            auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
            while time.monotonic() < deadline:
                try:
                    answer = requests.get(f"http://127.0.0.1:{port}/metrics", headers=auth)
                except requests.ConnectionError:
                    answer = None
                if answer is not None and answer.status_code == 200:
                    scrape = answer.text
                    if 'chatbotmaker_turns_total{outcome="ok"} 5.0' in scrape:
                        break
                time.sleep(0.2)
            unauthorised = requests.get(f"http://127.0.0.1:{port}/metrics")
        finally:
            worker.send_signal(signal.SIGINT)
            output, _ = worker.communicate(timeout=30)
        assert unauthorised.status_code == 401
        assert 'chatbotmaker_turns_total{outcome="ok"} 5.0' in scrape, output
        assert re.search(r'^chatbotmaker_replies_total\{outcome="sent"\} 5\.0$', scrape, re.M)
        assert re.search(r'^chatbotmaker_queue_jobs\{status="todo"\} \d', scrape, re.M)
        assert METRICS_TOKEN not in output
    finally:
        bot.database.dispose()
