"""The floor: the same reads and writes with the standard ``sqlite3`` module, no framework.

One transaction per turn with the settings chatbotmaker uses on SQLite (WAL,
``synchronous=NORMAL``, ``BEGIN IMMEDIATE``): claim the message id, read the user, read and
write the counter, write the state, commit, then deliver the two replies. The schema is
chatbotmaker's (unique ``users.fb_id``, unique ``(user_id, name)`` on arguments, a table of
handled message ids). The bot's logic is inlined; values are stored as SQLite integers.
"""

from __future__ import annotations

import sqlite3
import time

from .bot import COUNTER, INITIAL_STATE, NEXT_STATE, PROMPT
from .protocol import Worker, populate, serve

SCHEMA = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY, fb_id VARCHAR(255) NOT NULL UNIQUE, state VARCHAR(255) NOT NULL
);
CREATE TABLE arguments (
    id INTEGER PRIMARY KEY, name VARCHAR(255) NOT NULL, value JSON,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT uq_arguments_user_name UNIQUE (user_id, name)
);
CREATE TABLE chatbotmaker_handled_messages (
    message_id VARCHAR(255) PRIMARY KEY, handled_at DATETIME NOT NULL
);
"""

CLAIM = (
    "INSERT INTO chatbotmaker_handled_messages (message_id, handled_at) VALUES (?, ?) "
    "ON CONFLICT DO NOTHING"
)
LOCK_USER = "SELECT id, state FROM users WHERE fb_id = ?"
CREATE_USER = "INSERT INTO users (fb_id, state) VALUES (?, ?)"
GET_ARGUMENT = "SELECT value FROM arguments WHERE user_id = ? AND name = ?"
SET_ARGUMENT = (
    "INSERT INTO arguments (user_id, name, value) VALUES (?, ?, ?) "
    "ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value"
)
SET_STATE = "UPDATE users SET state = ? WHERE id = ?"


class RawSqlite(Worker):
    name = "raw sqlite3"

    def setup(self, db: str, users: int) -> None:
        conn = sqlite3.connect(db)
        conn.executescript(SCHEMA)
        conn.close()
        populate(db, users)
        self.conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "busy_timeout=30000",
            "foreign_keys=ON",
        ):
            self.conn.execute(f"PRAGMA {pragma}")

    def turn(self, user_id: str, text: str, message_id: str) -> None:
        execute = self.conn.execute
        execute("BEGIN IMMEDIATE")
        try:
            if execute(CLAIM, (message_id, time.time())).rowcount != 1:
                execute("ROLLBACK")
                return
            row = execute(LOCK_USER, (user_id,)).fetchone()
            if row is None:
                execute(CREATE_USER, (user_id, INITIAL_STATE))
                row = execute(LOCK_USER, (user_id,)).fetchone()
            uid, state = row
            found = execute(GET_ARGUMENT, (uid, COUNTER)).fetchone()
            count = (0 if found is None else int(found[0])) + 1
            execute(SET_ARGUMENT, (uid, COUNTER, count))
            replies = [f"count: {count}", PROMPT]
            execute(SET_STATE, (NEXT_STATE[state], uid))
            execute("COMMIT")
        except BaseException:
            execute("ROLLBACK")
            raise
        for reply in replies:
            self.send(user_id, reply)


if __name__ == "__main__":
    serve(RawSqlite())
