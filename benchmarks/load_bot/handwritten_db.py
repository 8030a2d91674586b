"""The hand-written contender's database: its own small schema, its turn's statements on the
raw driver (psycopg 3 or sqlite3), and reading back what it did for the load test's checks.

The statements are those a chatbotmaker turn runs for the load bot (``load_bot/rules.py``), in
the same order and in one transaction: claim the message id (``INSERT .. ON CONFLICT DO
NOTHING RETURNING``, so a redelivery is recognised), lock the user (``SELECT .. FOR UPDATE`` on
PostgreSQL; ``BEGIN IMMEDIATE`` already holds SQLite's write lock), or insert it when new, read
the counter, upsert it, then write the state and the time of the last message (an existing
user) or record the new user's entry into the first state (a new one). The SQL follows the raw
contenders of ``turns.py`` (``benchmarks/contenders/raw_*.py``): one round trip per statement,
prepared on first use on PostgreSQL (``prepare_threshold=0``). Values are JSON, as
chatbotmaker stores them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

INITIAL_STATE = "welcome"
COUNTER = "count"

PG_SCHEMA = """
CREATE TABLE users (
    id SERIAL PRIMARY KEY, fb_id VARCHAR(255) NOT NULL UNIQUE, state VARCHAR(255) NOT NULL,
    last_message_at TIMESTAMP WITH TIME ZONE
);
CREATE TABLE arguments (
    id SERIAL PRIMARY KEY, name VARCHAR(255) NOT NULL, value JSON,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    UNIQUE (user_id, name)
);
CREATE TABLE handled_messages (
    message_id VARCHAR(255) PRIMARY KEY, handled_at TIMESTAMP WITH TIME ZONE NOT NULL,
    user_id VARCHAR(255)
);
CREATE TABLE transitions (
    id SERIAL PRIMARY KEY, user_id VARCHAR(255) NOT NULL, from_state VARCHAR(255),
    to_state VARCHAR(255) NOT NULL, at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX ix_transitions_user_id ON transitions (user_id);
"""
SQLITE_SCHEMA = (
    PG_SCHEMA.replace("SERIAL PRIMARY KEY", "INTEGER PRIMARY KEY")
    .replace("TIMESTAMP WITH TIME ZONE", "REAL")
    .replace("JSON", "TEXT")
)

PG = {
    "claim": "INSERT INTO handled_messages (message_id, handled_at, user_id) "
    "VALUES (%s, now(), %s) ON CONFLICT DO NOTHING RETURNING message_id",
    "lock_user": "SELECT id, state FROM users WHERE fb_id = %s FOR UPDATE",
    "insert_user": "INSERT INTO users (fb_id, state, last_message_at) VALUES (%s, %s, now()) "
    "ON CONFLICT (fb_id) DO NOTHING RETURNING id, state",
    "get_argument": "SELECT value FROM arguments WHERE user_id = %s AND name = %s",
    "set_argument": "INSERT INTO arguments (user_id, name, value) VALUES (%s, %s, %s) "
    "ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value",
    "set_state": "UPDATE users SET state = %s, last_message_at = now() WHERE id = %s",
    "transition": "INSERT INTO transitions (user_id, from_state, to_state, at) "
    "VALUES (%s, %s, %s, now())",
}
#: the same on sqlite3: qmark parameters, times passed in, no row lock (BEGIN IMMEDIATE)
SQLITE = {
    key: sql.replace("%s", "?").replace("now()", "?").replace(" FOR UPDATE", "")
    for key, sql in PG.items()
}


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://...``) as libpq's (``postgresql://...``)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def create_schema(url: str) -> None:
    """The contender's tables in the (fresh, empty) database at ``url``."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sqlite_path(url))
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SQLITE_SCHEMA)
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute(PG_SCHEMA)


def open_store(url: str) -> PgStore | SqliteStore:
    return SqliteStore(url) if url.startswith("sqlite") else PgStore(url)


class PgStore:
    """One psycopg connection (a gunicorn worker's), one transaction per turn."""

    def __init__(self, url: str) -> None:
        import psycopg
        from psycopg.types.json import Json

        self.json = Json
        self.conn = psycopg.connect(libpq_url(url), prepare_threshold=0)

    def turn(self, user_id: str, message_id: str, text: str) -> list[str]:
        """The replies of one message (none for a redelivery), its writes committed."""
        conn = self.conn
        execute = conn.cursor().execute
        try:  # psycopg opens the transaction with the first statement
            if execute(PG["claim"], (message_id, user_id)).fetchone() is None:
                conn.rollback()  # handled before: a redelivery
                return []
            row = execute(PG["lock_user"], (user_id,)).fetchone()
            new = False
            if row is None:
                row = execute(PG["insert_user"], (user_id, INITIAL_STATE)).fetchone()
                new = row is not None
                if row is None:  # another worker inserted it meanwhile
                    row = execute(PG["lock_user"], (user_id,)).fetchone()
            uid, state = row
            found = execute(PG["get_argument"], (uid, COUNTER)).fetchone()
            count = (0 if found is None else int(found[0])) + 1
            execute(PG["set_argument"], (uid, COUNTER, self.json(count)))
            if new:
                execute(PG["transition"], (user_id, None, INITIAL_STATE))
            else:
                execute(PG["set_state"], (state, uid))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        return [f"{user_id}:{count}:{text}"]


class SqliteStore:
    """One sqlite3 connection with chatbotmaker's settings on SQLite (WAL, ``synchronous
    NORMAL``, ``BEGIN IMMEDIATE``), one transaction per turn."""

    def __init__(self, url: str) -> None:
        self.conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            self.conn.execute(f"PRAGMA {pragma}")

    def turn(self, user_id: str, message_id: str, text: str) -> list[str]:
        execute = self.conn.execute
        now = time.time()
        execute("BEGIN IMMEDIATE")
        try:
            if execute(SQLITE["claim"], (message_id, now, user_id)).fetchone() is None:
                execute("ROLLBACK")
                return []
            row = execute(SQLITE["lock_user"], (user_id,)).fetchone()
            new = row is None
            if new:
                row = execute(SQLITE["insert_user"], (user_id, INITIAL_STATE, now)).fetchone()
            uid, state = row
            found = execute(SQLITE["get_argument"], (uid, COUNTER)).fetchone()
            count = (0 if found is None else json.loads(found[0])) + 1
            execute(SQLITE["set_argument"], (uid, COUNTER, json.dumps(count)))
            if new:
                execute(SQLITE["transition"], (user_id, None, INITIAL_STATE, now))
            else:
                execute(SQLITE["set_state"], (state, now, uid))
            execute("COMMIT")
        except BaseException:
            execute("ROLLBACK")
            raise
        return [f"{user_id}:{count}:{text}"]


COUNTERS = (
    "SELECT u.fb_id, a.value FROM users u "
    "LEFT JOIN arguments a ON a.user_id = u.id AND a.name = 'count'"
)


def read_state(url: str) -> tuple[list[tuple[str, Any]], set[str]]:
    """``(fb_id, counter)`` of every user and the handled message ids, for the checks."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sqlite_path(url))
        try:
            rows = [(u, None if v is None else json.loads(v)) for u, v in conn.execute(COUNTERS)]
            handled = {m for (m,) in conn.execute("SELECT message_id FROM handled_messages")}
        finally:
            conn.close()
        return rows, handled
    import psycopg

    with psycopg.connect(libpq_url(url)) as pg:
        rows = [(u, v) for u, v in pg.execute(COUNTERS).fetchall()]
        handled = {m for (m,) in pg.execute("SELECT message_id FROM handled_messages").fetchall()}
    return rows, handled
