"""What every worker shares: the command loop, the population of users, the turn sequence.

Commands (one JSON object per line on stdin, one JSON answer per line on stdout):

- ``{"cmd": "setup", "db": DB, "users": N}``: create the schema the contender's own way, then
  add ``N`` users (state ``welcome``) with a ``count`` argument of 0 in bulk. ``DB`` is a
  SQLite file's path or a PostgreSQL database's SQLAlchemy URL (``postgresql+psycopg://...``).
- ``{"cmd": "run", "users": N, "turns": T, "max_seconds": S, "seed": K, "prefix": P}``: handle
  up to ``T`` messages (stopping early after ``S`` seconds) from users drawn at random with seed
  ``K``; message ids are ``P`` plus the index, so each is new. Answers turns done and seconds.
- ``{"cmd": "check"}``: what the database and the messenger say was done, for the driver to
  compare with the turns it asked for.
- ``{"cmd": "quit"}``.

Only the standard library here (psycopg too, in :mod:`contenders.pg`, imported for PostgreSQL
only): 0.0.13's worker runs in its own virtualenv.
"""

from __future__ import annotations

import json
import os
import platform
import random
import sqlite3
import sys
import time
import traceback
from typing import Any, TextIO

from .bot import CHANNEL, COUNTER, INITIAL_STATE

#: Platform user ids look like Facebook's page-scoped ids: 16 digits.
FB_ID_BASE = 10**15
TEXT = "hi"


def fb_id(index: int) -> str:
    return str(FB_ID_BASE + index)


def turn_sequence(users: int, turns: int, seed: int, prefix: str) -> list[tuple[str, str]]:
    """``(user_id, message_id)`` pairs: the same for every contender given the same seed."""
    rng = random.Random(seed)
    return [(fb_id(rng.randrange(users)), f"m.{prefix}.{i}") for i in range(turns)]


def is_postgres(db: str) -> bool:
    """Whether ``db`` (a setup command's) is a PostgreSQL URL rather than a SQLite file."""
    return db.startswith("postgresql")


def sqlalchemy_url(db: str) -> str:
    return db if is_postgres(db) else f"sqlite:///{db}"


def populate(db: str, users: int) -> None:
    """``users`` users with their counters, added in bulk to the contender's own schema."""
    if is_postgres(db):
        from . import pg

        pg.populate(db, users)
    else:
        populate_sqlite(db, users)


def populate_sqlite(path: str, users: int, batch: int = 50_000) -> None:
    """Bulk-insert ``users`` users and their counters into the ``users``/``arguments`` tables.

    Both libraries (and the raw contender) name those tables and columns as 0.0.13 did. WAL is
    a property of the file, so it is set here for every contender.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        columns = {row[1] for row in conn.execute("PRAGMA table_info(users)")}
        conn.execute("BEGIN IMMEDIATE")
        for start in range(0, users, batch):
            ids = range(start + 1, min(users, start + batch) + 1)
            if "channel" in columns:  # ours since revision 0003: users per (channel, id)
                conn.executemany(
                    "INSERT INTO users (id, fb_id, state, channel) VALUES (?, ?, ?, ?)",
                    ((i, fb_id(i - 1), INITIAL_STATE, CHANNEL) for i in ids),
                )
            else:
                conn.executemany(
                    "INSERT INTO users (id, fb_id, state) VALUES (?, ?, ?)",
                    ((i, fb_id(i - 1), INITIAL_STATE) for i in ids),
                )
            conn.executemany(
                "INSERT INTO arguments (user_id, name, value) VALUES (?, ?, ?)",
                ((i, COUNTER, "0") for i in ids),
            )
        conn.execute("COMMIT")
    finally:
        conn.close()


def inspect_database(db: str) -> dict[str, Any]:
    """Counter total and users per state, read with a connection of our own."""
    if is_postgres(db):
        from . import pg

        return pg.inspect_database(db)
    return inspect_sqlite(db)


def inspect_sqlite(path: str) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    try:
        (total,) = conn.execute(
            "SELECT COALESCE(SUM(CAST(value AS INTEGER)), 0) FROM arguments WHERE name = ?",
            (COUNTER,),
        ).fetchone()
        states = dict(conn.execute("SELECT state, COUNT(*) FROM users GROUP BY state"))
        (users,) = conn.execute("SELECT COUNT(*) FROM users").fetchone()
    finally:
        conn.close()
    return {"counter_total": total, "states": states, "users": users}


class Worker:
    """One contender. Subclasses implement ``setup``, ``turn`` and ``versions``."""

    name = "?"

    def __init__(self) -> None:
        self.db = ""
        self.sent = 0

    # -- to implement ----------------------------------------------------------------------

    def setup(self, db: str, users: int) -> None:
        raise NotImplementedError

    def turn(self, user_id: str, text: str, message_id: str) -> None:
        raise NotImplementedError

    def versions(self) -> dict[str, str]:
        return {}

    # -- the driver's commands ---------------------------------------------------------------

    def send(self, user_id: str, text: str) -> None:
        """The null messenger: count the reply and drop it."""
        self.sent += 1

    def do_setup(self, db: str, users: int) -> dict[str, Any]:
        self.db = db
        started = time.perf_counter()
        self.setup(db, users)
        seconds = time.perf_counter() - started
        versions = {"python": platform.python_version()}
        if is_postgres(db):
            from . import pg

            versions["postgresql"] = pg.server_version(db)
            versions["psycopg"] = pg.psycopg.__version__
        else:
            versions["sqlite"] = sqlite3.sqlite_version
        return {"setup_seconds": seconds, "versions": {**versions, **self.versions()}}

    def do_run(
        self, users: int, turns: int, max_seconds: float, seed: int, prefix: str
    ) -> dict[str, Any]:
        sequence = turn_sequence(users, turns, seed, prefix)
        turn, clock = self.turn, time.perf_counter
        done = 0
        cpu = time.process_time()
        started = clock()
        deadline = started + max_seconds
        for user_id, message_id in sequence:
            turn(user_id, TEXT, message_id)
            done += 1
            if clock() > deadline:
                break
        seconds = clock() - started
        return {"turns": done, "seconds": seconds, "cpu_seconds": time.process_time() - cpu}

    def do_check(self) -> dict[str, Any]:
        return {"sent": self.sent, **inspect_database(self.db)}


def serve(worker: Worker) -> None:
    """The command loop. Replies go to the real stdout; anything else printed goes to stderr."""
    out: TextIO = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr
    for line in sys.stdin:
        command = json.loads(line)
        name = command.pop("cmd")
        if name == "quit":
            break
        try:
            answer = getattr(worker, f"do_{name}")(**command)
        except Exception:  # noqa: BLE001 - reported to the driver, which stops the run
            answer = {"error": traceback.format_exc()}
        out.write(json.dumps(answer) + "\n")
        out.flush()
