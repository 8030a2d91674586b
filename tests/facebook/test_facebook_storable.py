"""Events PostgreSQL cannot store as sent: each is repaired or skipped alone, never a 5xx.

Queued mode puts every event in a ``jsonb`` job argument, inline mode stores ids and handlers'
arguments: ``\\u0000``, lone surrogates, NaN/Infinity and deep nesting must cost no other event
of the batch, and the webhook answers 200 for what can never succeed.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from chatbotmaker_core import Bot, Database, Dispatcher
from chatbotmaker_core.queued.worker import WorkerSettings, work
from chatbotmaker_core.web import create_app
from chatbotmaker_facebook import FacebookMessenger
from tests.support.facebook import APP_SECRET, RULES, TOKEN, VERIFY_TOKEN, batch, event, post

pytestmark = pytest.mark.postgres


def remember(user, user_input):
    """Stores the input as an argument (a text column on PostgreSQL), then answers it."""
    user.store_argument("last", user_input)
    user.send_message(f"{user.message.kind}:{user_input}")


def make_bot(url, graph, mode, rules=RULES):
    messenger = FacebookMessenger(
        TOKEN, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, graph_url=graph.url, timeout=2.0
    )
    config = {"mode": mode, "job_retry_wait": 0, "send_backoff": 0.01, "send_deadline": 5.0}
    return Bot(config, messenger, Dispatcher(rules), Database(url))


@pytest.fixture
def queued(pg_url, graph):
    bot = make_bot(pg_url, graph, "queued")
    yield bot, create_app(bot).test_client()
    bot.queue.close()
    bot.database.dispose()


def drain(bot):
    work(bot.queue, WorkerSettings(wait=False, check_interval=0.5))


def raw_batch(*events: str) -> bytes:
    """A body written by hand: JSON escapes such as \\u0000 exactly as Meta would send them."""
    messaging = ",".join(events)
    return ('{"object":"page","entry":[{"id":"PAGE","messaging":[' + messaging + "]}]}").encode()


def text_event(user: str, mid: str, text_json: str, extra: str = "") -> str:
    return (
        f'{{"sender":{{"id":"{user}"}},"recipient":{{"id":"PAGE"}}{extra},'
        f'"message":{{"mid":"{mid}","text":{text_json}}}}}'
    )


def test_queued_a_nul_event_costs_no_other_event_of_its_batch(queued, graph):
    bot, client = queued
    body = raw_batch(
        text_event("u1", "m.1", '"a\\u0000b"'),
        text_event("u2", "m.2", '"plain"', extra=',"x\\u0000":{"y":"\\u0000","z":["\\ud800"]}'),
        '{"sender":{"id":"u3"},"message":{"mid":"m.3","attachments":'
        '[{"type":"image","payload":{"url":"https://x/\\u0000"}}]}}',
        text_event("u4", "m.4", '"fine"'),
    )
    assert post(client, body).status_code == 200
    drain(bot)
    assert sorted(graph.replies()) == [
        ("u1", "text:a\ufffdb"),
        ("u2", "text:plain"),
        ("u3", "attachment: [image]"),
        ("u4", "text:fine"),
    ]


def test_queued_numbers_jsonb_refuses_are_dropped_not_the_event(queued, graph):
    """Python reads NaN, Infinity and 1e400; JSON (and jsonb) has no such numbers."""
    bot, client = queued
    numbers = ',"n":[NaN,Infinity,-Infinity,1e400,-1e400,%s]' % ("9" * 4000)
    body = raw_batch(text_event("u1", "m.1", '"hi"', extra=numbers), text_event("u2", "m.2", '"x"'))
    assert post(client, body).status_code == 200
    drain(bot)
    assert sorted(graph.replies()) == [("u1", "text:hi"), ("u2", "text:x")]


def test_queued_deep_nesting_is_skipped_alone_and_logged_without_the_text(queued, graph, caplog):
    bot, client = queued
    deep = "[" * 900 + "]" * 900
    body = raw_batch(
        '{"sender":{"id":"u1"},"message":{"mid":"m.1","text":"secret words","attachments":'
        '[{"type":"file","payload":' + deep + "}]}}",
        text_event("u2", "m.2", '"x"', extra=f',"deep":{deep}'),  # only its raw copy is lost
        text_event("u3", "m.3", '"y"'),
    )
    assert post(client, body).status_code == 200
    drain(bot)
    assert sorted(graph.replies()) == [("u2", "text:x"), ("u3", "text:y")]
    assert "skipped (message m.1 of user u1): nested deeper than 64 levels" in caplog.text
    assert "secret words" not in caplog.text


def test_queued_a_database_failure_is_503_and_the_redelivery_runs_each_event_once(queued, graph):
    bot, client = queued
    first = batch([event("u1", "m.1", "one")])
    second = batch([event("u1", "m.1", "one"), event("u2", "m.2", "bye")])
    assert post(client, first).status_code == 200
    with bot.database.engine.begin() as conn:  # the queue's table goes away for a while
        conn.execute(text("ALTER TABLE procrastinate_jobs RENAME TO jobs_away"))
    assert post(client, second).status_code == 503
    with bot.database.engine.begin() as conn:
        conn.execute(text("ALTER TABLE jobs_away RENAME TO procrastinate_jobs"))
    assert post(client, second).status_code == 200  # Meta's redelivery
    drain(bot)
    assert sorted(graph.replies()) == [("u1", "text:one"), ("u2", "text:bye")]


def test_inline_postgresql_stores_repaired_text_and_skips_nul_ids(pg_url, graph):
    bot = make_bot(pg_url, graph, "inline", {"actions": {"welcome": {"func": remember}}})
    client = create_app(bot).test_client()
    body = raw_batch(
        text_event("u1", "m.1", '"a\\u0000b"'),
        text_event("u\\u0000", "m.2", '"bad user"'),
        text_event("u3", "m\\u0000", '"bad mid"'),
        text_event("u4", "m.4", '"\\ud83d\\ude00 \\udc00"'),
    )
    assert post(client, body).status_code == 200
    assert graph.replies() == [("u1", "text:a\ufffdb"), ("u4", "text:\U0001f600 \ufffd")]
    assert bot.database.get_arguments("u1") == {"last": "a\ufffdb"}
    bot.database.dispose()


def test_the_job_holds_what_the_handler_receives(queued, graph):
    """The job's message is the repaired one: plain JSON, big integers exact, raw kept."""
    bot, client = queued
    body = raw_batch(text_event("u1", "m.1", '"\\u0000"', extra=',"timestamp":%s' % ("7" * 30)))
    assert post(client, body).status_code == 200
    with bot.database.engine.connect() as conn:
        (args,) = conn.execute(text("SELECT args FROM procrastinate_jobs")).scalars().all()
    job = args["message"]
    assert (job["text"], job["timestamp"]) == ("\ufffd", int("7" * 30))
    assert job["raw"]["message"]["text"] == "\ufffd"
