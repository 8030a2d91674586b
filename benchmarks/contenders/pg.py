"""PostgreSQL for the workers: connecting, populating with ``COPY``, reading the results back.

Only the standard library and psycopg 3 (imported here, so SQLite-only workers need neither):
0.0.13's worker runs in its own virtualenv, which has psycopg too.
"""

from __future__ import annotations

from typing import Any

import psycopg

from .bot import CHANNEL, COUNTER, INITIAL_STATE
from .protocol import FB_ID_BASE

#: rows per ``COPY`` write: big enough that Python formats text, not one row at a time
CHUNK = 50_000


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://...``) as a libpq URI (``postgresql://...``)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


def connect(url: str, **kwargs: Any) -> psycopg.Connection:
    return psycopg.connect(libpq_url(url), **kwargs)


def populate(url: str, users: int) -> None:
    """Add ``users`` users (state ``welcome``) with a ``count`` argument of 0, with ``COPY``.

    Ids are given (1..N, as on SQLite) and the sequences moved past them, so a user created
    later gets a fresh id. The value is written as the text ``0``: valid JSON for a ``JSON``
    column (ours, raw psycopg) and the string 0.0.13 stores in its ``VARCHAR`` one. The
    arguments' foreign key is not checked row by row while loading (``session_replication_role
    = replica``, as ``pg_restore`` does; the rows are valid by construction): that check alone
    took 20 s of the 30 at 1M users. ``VACUUM ANALYZE`` afterwards, as after any bulk load: the
    planner gets statistics and the first turns do not pay for setting every row's hint bits.
    """
    with connect(url) as conn:
        with conn.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")  # needs a superuser
            cur.execute(
                "SELECT 1 FROM information_schema.columns "
                "WHERE table_name = 'users' AND column_name = 'channel'"
            )
            # ours since revision 0003: users per (channel, id)
            channel = f"\t{CHANNEL}" if cur.fetchone() else ""
            columns = "id, fb_id, state" + (", channel" if channel else "")
            with cur.copy(f"COPY users ({columns}) FROM STDIN") as copy:
                for start in range(1, users + 1, CHUNK):
                    ids = range(start, min(users, start + CHUNK - 1) + 1)
                    copy.write(
                        "".join(
                            f"{i}\t{FB_ID_BASE + i - 1}\t{INITIAL_STATE}{channel}\n" for i in ids
                        )
                    )
            with cur.copy("COPY arguments (id, user_id, name, value) FROM STDIN") as copy:
                for start in range(1, users + 1, CHUNK):
                    ids = range(start, min(users, start + CHUNK - 1) + 1)
                    copy.write("".join(f"{i}\t{i}\t{COUNTER}\t0\n" for i in ids))
            for table in ("users", "arguments"):
                cur.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, true)",
                    (table, max(users, 1)),
                )
    with connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE users")
        conn.execute("VACUUM ANALYZE arguments")


def inspect_database(url: str) -> dict[str, Any]:
    """Counter total and users per state (the value is JSON or text: read through text)."""
    with connect(url) as conn:
        (total,) = conn.execute(
            "SELECT COALESCE(SUM(CAST(CAST(value AS TEXT) AS INTEGER)), 0) FROM arguments "
            "WHERE name = %s",
            (COUNTER,),
        ).fetchone()
        states = dict(conn.execute("SELECT state, COUNT(*) FROM users GROUP BY state").fetchall())
        (users,) = conn.execute("SELECT COUNT(*) FROM users").fetchone()
    return {"counter_total": int(total), "states": states, "users": users}


def server_version(url: str) -> str:
    with connect(url) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]
