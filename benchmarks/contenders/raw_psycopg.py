"""The floor on PostgreSQL: the same reads and writes with psycopg 3, no framework.

One transaction per turn, the statements of the raw-sqlite3 contender: claim the message id
(``INSERT .. ON CONFLICT DO NOTHING``), read and lock the user (``SELECT .. FOR UPDATE``), read
the counter, upsert it, write the state, commit, then deliver the two replies. One connection,
one cursor, every statement prepared on first use (``prepare_threshold=0``), one round trip per
statement as an application written by hand would do it. The schema is chatbotmaker's on
PostgreSQL (``SERIAL`` ids, a unique index on ``users.fb_id``, ``JSON`` values, unique
``(user_id, name)``, a table of handled message ids). The bot's logic is inlined.
"""

from __future__ import annotations

from psycopg.types.json import Json

from . import pg
from .bot import COUNTER, INITIAL_STATE, NEXT_STATE, PROMPT
from .protocol import Worker, populate, serve

SCHEMA = """
CREATE TABLE users (
    id SERIAL PRIMARY KEY, fb_id VARCHAR(255) NOT NULL, state VARCHAR(255) NOT NULL
);
CREATE UNIQUE INDEX ix_users_fb_id ON users (fb_id);
CREATE TABLE arguments (
    id SERIAL PRIMARY KEY, name VARCHAR(255) NOT NULL, value JSON,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT uq_arguments_user_name UNIQUE (user_id, name)
);
CREATE TABLE chatbotmaker_handled_messages (
    message_id VARCHAR(255) PRIMARY KEY, handled_at TIMESTAMP WITH TIME ZONE NOT NULL
);
"""

CLAIM = (
    "INSERT INTO chatbotmaker_handled_messages (message_id, handled_at) VALUES (%s, now()) "
    "ON CONFLICT DO NOTHING"
)
LOCK_USER = "SELECT id, state FROM users WHERE fb_id = %s FOR UPDATE"
CREATE_USER = "INSERT INTO users (fb_id, state) VALUES (%s, %s) ON CONFLICT (fb_id) DO NOTHING"
GET_ARGUMENT = "SELECT value FROM arguments WHERE user_id = %s AND name = %s"
SET_ARGUMENT = (
    "INSERT INTO arguments (user_id, name, value) VALUES (%s, %s, %s) "
    "ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value"
)
SET_STATE = "UPDATE users SET state = %s WHERE id = %s"


class RawPsycopg(Worker):
    name = "raw psycopg"

    def setup(self, db: str, users: int) -> None:
        with pg.connect(db) as conn:
            conn.execute(SCHEMA)
        populate(db, users)
        self.conn = pg.connect(db, prepare_threshold=0)
        self.cursor = self.conn.cursor()

    def turn(self, user_id: str, text: str, message_id: str) -> None:
        conn, cur = self.conn, self.cursor
        execute = cur.execute
        try:  # psycopg opens the transaction with the first statement
            if execute(CLAIM, (message_id,)).rowcount != 1:
                conn.rollback()
                return
            row = execute(LOCK_USER, (user_id,)).fetchone()
            if row is None:
                execute(CREATE_USER, (user_id, INITIAL_STATE))
                row = execute(LOCK_USER, (user_id,)).fetchone()
            uid, state = row
            found = execute(GET_ARGUMENT, (uid, COUNTER)).fetchone()
            count = (0 if found is None else int(found[0])) + 1
            execute(SET_ARGUMENT, (uid, COUNTER, Json(count)))
            replies = [f"count: {count}", PROMPT]
            execute(SET_STATE, (NEXT_STATE[state], uid))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        for reply in replies:
            self.send(user_id, reply)


if __name__ == "__main__":
    serve(RawPsycopg())
