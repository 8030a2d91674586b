"""Which schema version a database is at, and what a bot does about it at start-up.

Our tables are versioned by Alembic (``migrations/``) in a version table of our own
(``chatbotmaker_version``), so an application that runs Alembic for its own tables keeps its
``alembic_version``. Reading the version is one SELECT: a bot does not import Alembic to start.

- no table of ours at all: a new database, created at :data:`HEAD` by ``create_all`` and
  stamped (the migrations build the same tables; a test compares them);
- stamped :data:`HEAD`: ready;
- anything else (an older version, this project's first schema without a version, a
  chatbotmaker 0.0.13 database): :class:`SchemaOutdated`, naming ``chatbotmaker db upgrade``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, inspect, text

from ..errors import ConfigError

#: the newest revision in ``migrations/versions`` (a test checks it is Alembic's head)
HEAD = "0003"
#: the first revision: this project's tables as ``create_all`` first made them
FIRST = "0001"
VERSION_TABLE = "chatbotmaker_version"
#: tables of ours whose presence tells a database we know from an empty one
OUR_TABLES = ("users", "arguments", "chatbotmaker_handled_messages")

#: "start" (create a new database at head), "upgrade" (touch nothing: ``db`` commands) or
#: "existing" (an operator's command: a database never initialised is an error)
_MODE: ContextVar[str] = ContextVar("chatbotmaker_schema_mode", default="start")


class SchemaOutdated(ConfigError):
    """The database's schema is older than this chatbotmaker's: run ``chatbotmaker db upgrade``."""


@contextmanager
def schema_mode(mode: str) -> Iterator[None]:
    """Build a bot with ``mode`` (see :data:`_MODE`) instead of the start-up behaviour."""
    token = _MODE.set(mode)
    try:
        yield
    finally:
        _MODE.reset(token)


def detect(conn: Connection) -> str | None:
    """The database's version: a revision id, ``"0.0.13"``, ``"unversioned-first"`` (our
    first schema, made before versions existed) or None for a database without our tables."""
    names = set(inspect(conn).get_table_names())
    if VERSION_TABLE in names:
        version = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
        if version is not None:
            return str(version)
    if "users" not in names:
        return None
    if "chatbotmaker_handled_messages" in names:
        return "unversioned-first"
    return "0.0.13"


def stamp(conn: Connection, revision: str) -> None:
    """Record ``revision`` as Alembic does (a one-row table), without importing Alembic."""
    conn.execute(
        text(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL)")
    )
    conn.execute(text(f"DELETE FROM {VERSION_TABLE}"))
    conn.execute(text(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:v)"), {"v": revision})


def prepare(database: Any, conn: Connection) -> None:
    """At start-up, in the schema transaction: create a new database at :data:`HEAD`, accept
    one at :data:`HEAD`, refuse any other (naming the command that upgrades it)."""
    mode = _MODE.get()
    if mode == "upgrade":
        return
    version = detect(conn)
    if version is None and mode == "existing":
        raise ConfigError(
            f"[database] {database.url} has no chatbotmaker tables (never initialised); "
            f"run `chatbotmaker db upgrade CONFIG` first, or check [database] url"
        )
    if version is None:
        database.base.metadata.create_all(conn)
        stamp(conn, HEAD)
        return
    if version != HEAD:
        raise SchemaOutdated(outdated_message(database.url, version))
    database.base.metadata.create_all(conn)  # the application's tables added since


def outdated_message(url: str, version: str) -> str:
    if version == "0.0.13":
        what = "was made by chatbotmaker 0.0.13"
    elif version == "unversioned-first":
        what = "has chatbotmaker's first schema (no version recorded)"
    else:
        what = f"is at schema version {version}"
    return (
        f"[database] {url} {what}, this chatbotmaker needs version {HEAD}; back it up, then "
        f"run `chatbotmaker db upgrade CONFIG` (it keeps every user, state and argument)"
    )
