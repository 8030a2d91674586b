"""Queued mode on procrastinate: per-user FIFO, dedupe, outbox in the turn, failed jobs."""

import pytest
from sqlalchemy import text

from chatbotmaker_core import Bot, Database, Dispatcher, Message
from chatbotmaker_core.cli import main
from chatbotmaker_core.queued import TURN_TASK, user_lock
from chatbotmaker_core.queued.worker import WorkerSettings, work
from chatbotmaker_core.testing import RecordingMessenger

pytestmark = pytest.mark.postgres


def counting(user, text):
    if text == "boom":
        raise RuntimeError("handler failed")
    count = user.get_argument("count", 0) + 1
    user.store_argument("count", count)
    user.send_message(f"{count}:{text}")


RULES = {"actions": {"welcome": {"func": counting}}}


def queued_bot(url, **options):
    config = {"mode": "queued", "job_retry_wait": 0, "send_backoff": 0.001, **options}
    bot = Bot(config, RecordingMessenger(), Dispatcher(RULES), Database(url))
    bot.queue.apply_schema()
    return bot


def drain(bot, concurrency=4):
    settings = WorkerSettings(concurrency=concurrency, wait=False, check_interval=0.5)
    work(bot.queue, settings)


def jobs(bot, status):
    with bot.database.engine.connect() as conn:
        return conn.execute(
            text("SELECT task_name, lock, attempts FROM procrastinate_jobs WHERE status = :s"),
            {"s": status},
        ).all()


def test_events_run_per_user_in_order_once(pg_url):
    bot = queued_bot(pg_url)
    for i in range(10):
        for user in ("a", "b", "c"):
            assert bot.receive(Message(user, f"m{i}", message_id=f"{user}-{i}")) is None
    bot.receive(Message("a", "m0", message_id="a-0"))  # a redelivery
    assert bot.messenger.sent == []  # the webhook side only enqueues
    drain(bot)
    for user in ("a", "b", "c"):
        assert bot.messenger.texts(user) == [f"{n + 1}:m{n}" for n in range(10)]
        assert bot.database.get_arguments(user) == {"count": 10}
    assert len(jobs(bot, "succeeded")) == 31 + 30  # 31 turns, 30 deliveries
    assert jobs(bot, "failed") == []


def test_replies_are_deferred_inside_the_turn(pg_url):
    bot = queued_bot(pg_url)
    bot.receive(Message("u", "hello", message_id="1"))
    bot.receive(Message("u", "boom", message_id="2"))
    drain(bot)
    deliveries = [row for row in jobs(bot, "succeeded") if row.task_name == "chatbotmaker.deliver"]
    # The failed turn deferred nothing of its own; its apology is a delivery job of its own,
    # queued behind the user's earlier replies.
    assert len(deliveries) == 2
    assert bot.messenger.texts("u") == [
        "1:hello",
        "Sorry, something went wrong on our side. Please try again.",
    ]


def test_poison_event_fails_after_bounded_retries_and_can_be_retried(pg_url, tmp_path, capsys):
    bot = queued_bot(pg_url, job_attempts=3)
    # A user id longer than users.fb_id: no turn can take it. Message() refuses to make one
    # now, so it is queued as a raw job, as an older release could have left it.
    poison = "x" * 300
    bot.queue._defer(
        TURN_TASK, user_lock(poison), message={"user_id": poison, "text": "hi", "message_id": "p1"}
    )
    bot.receive(Message("ok", "hi", message_id="o1"))
    drain(bot)
    assert bot.messenger.texts("ok") == ["1:hi"]
    failed = jobs(bot, "failed")
    assert [(row.task_name, row.attempts) for row in failed] == [("chatbotmaker.turn", 3)]

    config = tmp_path / "chatbotmaker.toml"
    config.write_text(
        f'[bot]\nmode = "queued"\n[messenger]\nname = "dev"\n'
        f'[database]\nname = "sqlalchemy"\nurl = "{pg_url}"\n'
        f'[rules]\nname = "python"\nsource = "tests.test_queued:RULES"\n'
    )
    assert main(["jobs", str(config)]) == 0
    listing = capsys.readouterr().out
    assert "chatbotmaker.turn" in listing and "attempts=3" in listing
    assert "1 failed job" in listing
    job_id = int(listing.split()[0])
    assert main(["jobs", str(config), "--retry", str(job_id)]) == 0
    assert f"retried job {job_id}" in capsys.readouterr().out
    assert [row.task_name for row in jobs(bot, "todo")] == ["chatbotmaker.turn"]
