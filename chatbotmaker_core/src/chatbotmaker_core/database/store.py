"""The turn's hot path in SQLAlchemy Core: a handful of prebuilt statements per dialect.

The ORM user class stays what handlers see; reading and writing our own rows through Core
statements (compiled once, cached by SQLAlchemy) keeps a turn's cost close to raw SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, bindparam, exc, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row

from .models import Models

_UPSERT_DIALECTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


class Store:
    """Reads and writes users, arguments and handled message ids on a turn's connection."""

    def __init__(self, engine: Engine, models: Models) -> None:
        users = models.User.__table__
        arguments = models.Argument.__table__
        handled = models.HandledMessage.__table__
        self.dialect = engine.dialect.name
        upsert = _UPSERT_DIALECTS.get(self.dialect)

        lock = select(users.c.id, users.c.state).where(users.c.fb_id == bindparam("fb_id"))
        # PostgreSQL locks the row for the turn; SQLite's BEGIN IMMEDIATE already holds the
        # database's write lock, and other dialects get FOR UPDATE where they support it.
        self._lock_user = lock if self.dialect == "sqlite" else lock.with_for_update()
        self._insert_user = insert(users).values(
            fb_id=bindparam("fb_id"), state=bindparam("initial_state")
        )
        self._claim = insert(handled).values(message_id=bindparam("mid"))
        self._get_argument = select(arguments.c.value).where(
            arguments.c.user_id == bindparam("uid"), arguments.c.name == bindparam("key")
        )
        self._update_argument = (
            update(arguments)
            .where(arguments.c.user_id == bindparam("uid"), arguments.c.name == bindparam("key"))
            .values(value=bindparam("val", type_=arguments.c.value.type))
        )
        self._insert_argument = insert(arguments).values(
            user_id=bindparam("uid"), name=bindparam("key"), value=bindparam("val")
        )
        self._set_state = (
            update(users).where(users.c.id == bindparam("uid")).values(state=bindparam("new"))
        )
        self.has_upsert = upsert is not None
        if upsert is not None:
            self._insert_user = (
                upsert(users)
                .values(fb_id=bindparam("fb_id"), state=bindparam("initial_state"))
                .on_conflict_do_nothing(index_elements=[users.c.fb_id])
                .returning(users.c.id, users.c.state)
            )
            # RETURNING tells whether a row was inserted; rowcount is not reliable on every driver.
            self._claim = (
                upsert(handled)
                .values(message_id=bindparam("mid"))
                .on_conflict_do_nothing()
                .returning(handled.c.message_id)
            )
            stmt = upsert(arguments).values(
                user_id=bindparam("uid"), name=bindparam("key"), value=bindparam("val")
            )
            self._upsert_argument = stmt.on_conflict_do_update(
                index_elements=[arguments.c.user_id, arguments.c.name],
                set_={"value": stmt.excluded.value},
            )

    def claim_message(self, conn: Connection, message_id: str) -> bool:
        """Record ``message_id`` as handled; False when it already was (a redelivery).

        On PostgreSQL a concurrent claim of the same id waits for the first transaction and
        then sees the conflict, so exactly one turn handles the message.
        """
        if self.has_upsert:
            return conn.execute(self._claim, {"mid": message_id}).first() is not None
        try:
            with conn.begin_nested():
                conn.execute(self._claim, {"mid": message_id})
        except exc.IntegrityError:
            return False
        return True

    def lock_user(self, conn: Connection, fb_id: str, initial_state: str) -> tuple[Row, bool]:
        """The user's ``(id, state)`` row, locked for the turn, created if new."""
        row = conn.execute(self._lock_user, {"fb_id": fb_id}).first()
        if row is not None:
            return row, False
        if self.has_upsert:
            inserted = conn.execute(
                self._insert_user, {"fb_id": fb_id, "initial_state": initial_state}
            ).first()
            if inserted is not None:  # our own new row: no other transaction can see it yet
                return inserted, True
            created = False
        else:
            try:
                with conn.begin_nested():
                    conn.execute(
                        self._insert_user, {"fb_id": fb_id, "initial_state": initial_state}
                    )
                created = True
            except exc.IntegrityError:
                created = False
        # Whoever won the race to create it, the row exists now; lock it.
        return conn.execute(self._lock_user, {"fb_id": fb_id}).one(), created

    def get_argument(self, conn: Connection, user_id: int, name: str) -> tuple[bool, Any]:
        row = conn.execute(self._get_argument, {"uid": user_id, "key": name}).first()
        return (False, None) if row is None else (True, row[0])

    def store_argument(self, conn: Connection, user_id: int, name: str, value: Any) -> None:
        params = {"uid": user_id, "key": name, "val": value}
        if self.has_upsert:
            conn.execute(self._upsert_argument, params)
        elif conn.execute(self._update_argument, params).rowcount == 0:
            conn.execute(self._insert_argument, params)

    def set_state(self, conn: Connection, user_id: int, state: str) -> None:
        conn.execute(self._set_state, {"uid": user_id, "new": state})
