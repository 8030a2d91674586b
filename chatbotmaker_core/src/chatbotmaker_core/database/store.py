"""The turn's reads and writes: one small interface, one implementation per backend.

The ORM user class stays what handlers see; reading and writing our own rows through Core
statements (compiled once, cached by SQLAlchemy) keeps a turn's cost close to raw SQL.
:func:`make_store` picks the implementation once, when the :class:`~.Database` is made:

- :class:`~.driver.DriverStore` on pysqlite and psycopg: the statements run on the driver's
  own connection (``driver.py`` says why), or as :class:`UpsertStore` on a connection whose
  statements something watches (echo, listeners);
- :class:`UpsertStore` on SQLite and PostgreSQL through another driver: ``ON CONFLICT``;
- :class:`PortableStore` on any other dialect: savepoints and update-then-insert.

Internal module: reached as ``Database.store``, not exported from the package top.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection, exc

from .statements import Statements


class UserRow(NamedTuple):
    """The locked user's primary key (``user_key``) and state."""

    id: int
    state: str


class Store(Protocol):
    """What a turn reads and writes, on the turn's connection and in its transaction.

    ``platform_id`` is the platform's user id (``Message.user_id``, the ``fb_id`` column) on
    ``channel`` (the messenger's name): a user is unique per (channel, platform id).
    ``user_key`` is the row's primary key (``users.id``).
    """

    def claim_message(self, conn: Connection, message_id: str, platform_id: str) -> bool:
        """Record ``message_id`` as handled; False when it already was (a redelivery).

        On PostgreSQL a concurrent claim of the same id waits for the first transaction and
        then sees the conflict, so exactly one turn handles the message.
        """
        ...

    def is_handled(self, conn: Connection, message_id: str) -> bool:
        """Whether ``message_id`` was handled already, read on ``conn`` before its transaction.

        Nothing stays open afterwards: on SQLite no write lock is taken, and on PostgreSQL
        the read runs in autocommit, so no transaction idles while the platform is called.
        :meth:`claim_message` still decides, atomically, inside the turn.
        """
        ...

    def lock_user(
        self, conn: Connection, channel: str, platform_id: str, initial_state: str
    ) -> tuple[UserRow, bool]:
        """The user's ``(id, state)`` row, locked for the turn, created if new (then True,
        its last message time set)."""
        ...

    def get_argument(self, conn: Connection, user_key: int, name: str) -> tuple[bool, Any]:
        """``(True, value)``, or ``(False, None)`` when the user has no argument ``name``."""
        ...

    def store_argument(self, conn: Connection, user_key: int, name: str, value: Any) -> None: ...

    def set_state(self, conn: Connection, user_key: int, state: str) -> None:
        """Write the user's state and the time of their last message (now), one UPDATE."""
        ...

    def record_transitions(
        self, conn: Connection, platform_id: str, changes: list[tuple[str | None, str]]
    ) -> None:
        """Record the turn's state changes ``(from, to)`` (the source of ``stats``)."""
        ...


def now() -> datetime:
    return datetime.now(timezone.utc)


def new_user_params(channel: str, platform_id: str, initial_state: str) -> dict[str, Any]:
    """The parameters of the users statements (lock, insert) for one message."""
    return {
        "channel": channel,
        "platform_id": platform_id,
        "initial_state": initial_state,
        "at": now(),
    }


class _CoreStore:
    """What every dialect runs alike through ``Connection.execute``."""

    def __init__(self, statements: Statements) -> None:
        self.statements = statements

    def is_handled(self, conn: Connection, message_id: str) -> bool:
        found = conn.execute(self.statements.is_handled, {"mid": message_id}).first() is not None
        conn.rollback()
        return found

    def get_argument(self, conn: Connection, user_key: int, name: str) -> tuple[bool, Any]:
        row = conn.execute(self.statements.get_argument, {"uid": user_key, "key": name}).first()
        return (False, None) if row is None else (True, row[0])

    def set_state(self, conn: Connection, user_key: int, state: str) -> None:
        conn.execute(self.statements.set_state, {"uid": user_key, "new": state, "at": now()})

    def record_transitions(
        self, conn: Connection, platform_id: str, changes: list[tuple[str | None, str]]
    ) -> None:
        at = now()
        rows = [{"platform_id": platform_id, "from": a, "to": b, "at": at} for a, b in changes]
        conn.execute(self.statements.insert_transition, rows)

    def _lock(self, conn: Connection, channel: str, platform_id: str) -> Any:
        params = {"channel": channel, "platform_id": platform_id}
        return conn.execute(self.statements.lock_user, params).first()


class UpsertStore(_CoreStore):
    """SQLite and PostgreSQL through ``Connection.execute``: ``INSERT … ON CONFLICT``."""

    def claim_message(self, conn: Connection, message_id: str, platform_id: str) -> bool:
        claim = self.statements.upsert_claim
        assert claim is not None
        params = {"mid": message_id, "at": now(), "platform_id": platform_id}
        return conn.execute(claim, params).first() is not None

    def lock_user(
        self, conn: Connection, channel: str, platform_id: str, initial_state: str
    ) -> tuple[UserRow, bool]:
        row = self._lock(conn, channel, platform_id)
        if row is not None:
            return UserRow(*row), False
        insert = self.statements.upsert_user
        assert insert is not None
        params = new_user_params(channel, platform_id, initial_state)
        inserted = conn.execute(insert, params).first()
        if inserted is not None:  # our own new row: no other transaction can see it yet
            return UserRow(*inserted), True
        # Another turn created it meanwhile; lock it.
        return UserRow(*conn.execute(self.statements.lock_user, params).one()), False

    def store_argument(self, conn: Connection, user_key: int, name: str, value: Any) -> None:
        upsert = self.statements.upsert_argument
        assert upsert is not None
        conn.execute(upsert, {"uid": user_key, "key": name, "val": value})


class PortableStore(_CoreStore):
    """Any other dialect: plain ``INSERT`` in a savepoint, update-then-insert arguments."""

    def claim_message(self, conn: Connection, message_id: str, platform_id: str) -> bool:
        try:
            with conn.begin_nested():
                conn.execute(
                    self.statements.claim,
                    {"mid": message_id, "at": now(), "platform_id": platform_id},
                )
        except exc.IntegrityError:
            return False
        return True

    def lock_user(
        self, conn: Connection, channel: str, platform_id: str, initial_state: str
    ) -> tuple[UserRow, bool]:
        row = self._lock(conn, channel, platform_id)
        if row is not None:
            return UserRow(*row), False
        params = new_user_params(channel, platform_id, initial_state)
        try:
            with conn.begin_nested():
                conn.execute(self.statements.insert_user, params)
            created = True
        except exc.IntegrityError:
            created = False
        # Whoever won the race to create it, the row exists now; lock it.
        return UserRow(*conn.execute(self.statements.lock_user, params).one()), created

    def store_argument(self, conn: Connection, user_key: int, name: str, value: Any) -> None:
        params = {"uid": user_key, "key": name, "val": value}
        if conn.execute(self.statements.update_argument, params).rowcount == 0:
            conn.execute(self.statements.insert_argument, params)
