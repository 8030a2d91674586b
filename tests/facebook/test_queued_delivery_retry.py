"""Queued mode: a reply the Graph API refused for longer than the send retries is sent again
by its delivery job, not dropped; only the replies not sent yet, in order, until the job has
had its runs (then it is parked as failed, for ``chatbotmaker jobs --retry``)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from chatbotmaker_core import Bot, Database, Dispatcher, Message
from chatbotmaker_core.queued import DELIVER_TASK
from chatbotmaker_core.queued.worker import WorkerSettings, work
from chatbotmaker_facebook import FacebookMessenger
from tests.support.facebook import APP_SECRET, TOKEN, VERIFY_TOKEN

pytestmark = pytest.mark.postgres

OK = {"recipient_id": "u", "message_id": "m"}


def two_replies(user, user_input):
    count = user.get_argument("count", 0) + 1
    user.store_argument("count", count)
    user.send_message(f"{count}:{user_input}")
    if user_input.startswith("two"):
        user.send_message(f"{count}:again")


@pytest.fixture
def make_bot(pg_url, graph):
    made = []

    def build(**options):
        messenger = FacebookMessenger(
            TOKEN, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, graph_url=graph.url
        )
        config = {
            "mode": "queued",
            "send_attempts": 2,
            "send_backoff": 0.001,
            "send_deadline": 5.0,
            "job_retry_wait": 0,
            **options,
        }
        rules = {"actions": {"welcome": {"func": two_replies}}}
        bot = Bot(config, messenger, Dispatcher(rules), Database(pg_url))
        bot.queue.apply_schema()
        made.append(bot)
        return bot

    yield build
    for bot in made:
        bot.queue.close()
        bot.database.dispose()


def drain(bot):
    work(bot.queue, WorkerSettings(concurrency=2, wait=False, check_interval=0.5))


def deliveries(bot):
    with bot.database.engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT status::text, attempts FROM procrastinate_jobs "
                    "WHERE task_name = :task ORDER BY id"
                ),
                {"task": DELIVER_TASK},
            )
        ]


def recorded_failures(bot):
    with bot.database.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM chatbotmaker_delivery_failures")).scalar()


def test_a_reply_refused_past_the_retries_is_sent_again_by_its_job(make_bot, graph):
    bot = make_bot()
    graph.fail(500, times=2)  # both of the worker's own attempts
    bot.receive(Message("u", "a", message_id="1"))
    drain(bot)
    # two refused attempts by the worker, then its delivery job's: nothing dropped
    assert graph.texts() == ["1:a", "1:a", "1:a"]
    assert recorded_failures(bot) == 0
    assert deliveries(bot) == [("succeeded", 1)]


def test_only_the_replies_not_sent_go_again_and_the_next_turn_waits_for_them(make_bot, graph):
    bot = make_bot()
    graph.fail(200, OK)  # the first reply goes out
    graph.fail(500, times=2)  # the second is refused past the retries
    bot.receive(Message("u", "two", message_id="1"))
    bot.receive(Message("u", "b", message_id="2"))
    drain(bot)
    # the first reply once, the second again, then the next turn's: the user's order
    assert graph.texts() == ["1:two", "1:again", "1:again", "1:again", "2:b"]
    assert recorded_failures(bot) == 0
    assert [status for status, _ in deliveries(bot)] == ["succeeded", "succeeded"]


def test_a_delivery_refused_for_all_its_runs_is_parked_not_recorded(make_bot, graph):
    bot = make_bot(job_attempts=2)
    graph.fail(500, times=2 + 2 * 2)  # the worker's own two attempts, then two runs of two
    bot.receive(Message("u", "a", message_id="1"))
    drain(bot)
    assert graph.texts() == ["1:a"] * 6
    assert deliveries(bot) == [("failed", 2)]
    assert recorded_failures(bot) == 0  # parked: `chatbotmaker jobs --retry` sends it
    # a parked delivery does not hold the user's later replies back
    bot.receive(Message("u", "b", message_id="2"))
    drain(bot)
    assert graph.texts()[6:] == ["2:b"]


def test_a_refused_reply_is_recorded_at_once_when_permanent(make_bot, graph):
    bot = make_bot()
    graph.fail(400, {"error": {"message": "no such user", "code": 100}})
    bot.receive(Message("u", "a", message_id="1"))
    drain(bot)
    assert graph.texts() == ["1:a"]
    assert recorded_failures(bot) == 1
    assert deliveries(bot) == [("succeeded", 1)]
