"""Queued mode: the worker delivers a turn's replies itself; the staged job is the fallback."""

import pytest
from sqlalchemy import text

from chatbotmaker_core import Bot, Database, Dispatcher, Message
from chatbotmaker_core.queued import DELIVER_TASK
from chatbotmaker_core.queued.worker import WorkerSettings, work
from chatbotmaker_core.testing import RecordingMessenger

pytestmark = pytest.mark.postgres


def counting(user, text):
    count = user.get_argument("count", 0) + 1
    user.store_argument("count", count)
    user.send_message(f"{count}:{text}")


def queued_bot(url):
    config = {"mode": "queued", "job_retry_wait": 0, "send_backoff": 0.001}
    rules = {"actions": {"welcome": {"func": counting}}}
    bot = Bot(config, RecordingMessenger(), Dispatcher(rules), Database(url))
    bot.queue.apply_schema()
    return bot


def drain(bot):
    work(bot.queue, WorkerSettings(concurrency=2, wait=False, check_interval=0.5))


def deliveries(bot):
    with bot.database.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT status, attempts, scheduled_at > now() AS later FROM procrastinate_jobs "
                "WHERE task_name = :task ORDER BY id"
            ),
            {"task": DELIVER_TASK},
        ).all()


def test_a_worker_delivers_and_settles_its_fallback_job(pg_url):
    bot = queued_bot(pg_url)
    bot.receive(Message("u", "a", message_id="1"))
    bot.receive(Message("u", "b", message_id="2"))
    drain(bot)
    assert bot.messenger.texts("u") == ["1:a", "2:b"]
    # each turn staged its replies, and the worker marked them delivered: one attempt each
    assert [(row.status, row.attempts) for row in deliveries(bot)] == [("succeeded", 1)] * 2


def test_replies_of_a_worker_that_died_before_delivering_go_out_first(pg_url):
    bot = queued_bot(pg_url)
    # A worker's turn that committed, then its worker died: the fallback job waits, scheduled.
    bot.queue._local.pending = []
    bot.handle(Message("u", "lost", message_id="1"))
    bot.queue._local.pending = None
    assert bot.messenger.texts("u") == []
    assert [(row.status, row.later) for row in deliveries(bot)] == [("todo", True)]
    # The user's next turn makes that job due now and queues its own replies behind it.
    bot.receive(Message("u", "next", message_id="2"))
    drain(bot)
    assert bot.messenger.texts("u") == ["1:lost", "2:next"]
    assert [row.status for row in deliveries(bot)] == ["succeeded", "succeeded"]
