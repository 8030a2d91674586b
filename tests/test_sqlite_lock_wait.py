"""SQLite's lock wait is bounded: a turn blocked on the write lock gives up well inside the
20 s Meta gives an inline webhook, as a database error (nothing handled), not after 30 s.

The webhook's side (5xx within the bound, the redelivery handled once) is in
``tests/facebook/test_facebook_deadlines.py``.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import exc, select

from chatbotmaker_core import Bot, ConfigError, Database, Dispatcher, Message
from chatbotmaker_core.plugins.builtin import sqlalchemy_database
from chatbotmaker_core.testing import RecordingMessenger


def busy_timeout_ms(database: Database) -> int:
    with database.engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one()


def test_the_default_lock_wait_is_three_seconds(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        assert busy_timeout_ms(database) == 3000  # was 30 s: past Meta's 20 s
    finally:
        database.dispose()


def test_database_busy_timeout_sets_the_lock_wait(tmp_path: Path) -> None:
    database = sqlalchemy_database(url=f"sqlite:///{tmp_path / 'bot.db'}", busy_timeout=0.25)
    try:
        assert busy_timeout_ms(database) == 250
    finally:
        database.dispose()


@pytest.mark.parametrize("value", [-1, "3", True, float("nan"), 4000])
def test_a_bad_busy_timeout_is_a_one_line_config_error(tmp_path: Path, value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        sqlalchemy_database(url=f"sqlite:///{tmp_path / 'bot.db'}", busy_timeout=value)
    assert str(caught.value) == (
        "[database] busy_timeout must be a number of seconds from 0 to 3600 (keep it under "
        f"20 - [bot] send_deadline for a webhook, e.g. 3), got {value!r}"
    )


def test_a_turn_blocked_on_the_write_lock_fails_as_a_database_error(tmp_path: Path) -> None:
    ran: list[str] = []
    rules = {"actions": {"welcome": {"func": lambda user, text: ran.append(text)}}}
    database = Database(f"sqlite:///{tmp_path / 'bot.db'}", busy_timeout=0.2)
    bot = Bot({}, RecordingMessenger(), Dispatcher(rules), database)
    holder = sqlite3.connect(tmp_path / "bot.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(exc.OperationalError, match="database is locked"):
            bot.handle(Message(user_id="u1", text="hello", message_id="m.1"))
        holder.rollback()

        assert ran == []
        handled = database.models.HandledMessage.__table__
        with database.engine.connect() as conn:
            assert list(conn.scalars(select(handled.c.message_id))) == []
        assert bot.handle(Message(user_id="u1", text="hello", message_id="m.1")).handled
        assert ran == ["hello"]
    finally:
        holder.close()
        database.dispose()


@pytest.mark.postgres
def test_busy_timeout_on_postgresql_is_ignored_with_a_warning(postgres_server, caplog) -> None:
    name = f"lockwait_{uuid.uuid4().hex[:16]}"
    url = postgres_server.create_database(name)
    try:
        with caplog.at_level(logging.WARNING):
            database = sqlalchemy_database(url=url, busy_timeout=1)
        database.dispose()
    finally:
        postgres_server.drop_database(name)
    assert (
        "[database] busy_timeout is SQLite's lock wait; ignored for postgresql (remove it)"
        in caplog.text
    )
