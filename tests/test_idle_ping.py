"""The pre-ping on psycopg skips its round trip for a quiet pooled connection, and still
replaces a connection the server ended while it sat in the pool (database/idle_ping.py)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from chatbotmaker_core import Bot, Database, Dispatcher, Message
from chatbotmaker_core.database.idle_ping import quiet_or
from chatbotmaker_core.testing import RecordingMessenger

pytestmark = pytest.mark.postgres


def counting(user, text):
    count = user.get_argument("count", 0) + 1
    user.store_argument("count", count)
    user.send_message(f"{count}:{text}")


def end_other_sessions(url):
    """What a server restart does to the bot's idle connections, without the restart."""
    others = "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        ended = conn.execute(
            text(f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity {others}")
        ).scalar()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the sessions end a moment after the signal
            left = conn.execute(text(f"SELECT count(*) FROM pg_stat_activity {others}")).scalar()
            if left == 0:
                break
            time.sleep(0.02)
    engine.dispose()
    return ended


def test_a_quiet_connection_is_not_pinged_and_an_ended_one_is(pg_url):
    database = Database(pg_url)
    pings = []

    def ping(dbapi_connection):
        pings.append(dbapi_connection)
        return True

    raw = database.engine.raw_connection()
    try:
        checked = quiet_or(ping)
        assert checked(raw.driver_connection) is True
        assert pings == []  # healthy and idle: no round trip
        assert end_other_sessions(pg_url) >= 1
        checked(raw.driver_connection)
        assert pings == [raw.driver_connection]  # the server's goodbye is waiting: ping
    finally:
        raw.invalidate()
        database.dispose()


def test_a_turn_after_the_server_ended_the_pooled_connection_is_handled(pg_url):
    bot = Bot({}, RecordingMessenger(), Dispatcher({"actions": {"welcome": {"func": counting}}}),
              Database(pg_url))  # fmt: skip
    try:
        bot.handle(Message("u", "a", message_id="1"))  # leaves a connection in the pool
        assert end_other_sessions(pg_url) >= 1
        bot.handle(Message("u", "b", message_id="2"))  # the ping finds it ended, reconnects
        assert bot.messenger.texts("u") == ["1:a", "2:b"]
    finally:
        bot.database.dispose()
