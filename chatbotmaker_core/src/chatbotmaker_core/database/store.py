"""The turn's hot path in SQLAlchemy Core: a handful of prebuilt statements per dialect.

The ORM user class stays what handlers see; reading and writing our own rows through Core
statements (compiled once, cached by SQLAlchemy) keeps a turn's cost close to raw SQL.

On pysqlite and psycopg the statements are compiled once for the dialect and run on the
driver's connection, in the turn's transaction (``driver.py`` says why and what is kept);
when anything watches the statements, they go through ``Connection.execute`` as usual.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, bindparam, exc, insert, select, update

from .driver import DriverStatement, has_fast_path, statements_watched
from .models import Models


def _upsert_for(dialect: str) -> Any:
    """The dialect's ``INSERT … ON CONFLICT`` construct, or None. Imported for the dialect in
    use only: PostgreSQL's module alone takes a tenth of a second to import."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    return None


class UserRow(NamedTuple):
    """The locked user's primary key and state."""

    id: int
    state: str


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Store:
    """Reads and writes users, arguments and handled message ids on a turn's connection."""

    def __init__(self, engine: Engine, models: Models) -> None:
        users = models.User.__table__
        arguments = models.Argument.__table__
        handled = models.HandledMessage.__table__
        self.dialect = engine.dialect.name
        upsert = _upsert_for(self.dialect)

        lock = select(users.c.id, users.c.state).where(users.c.fb_id == bindparam("fb_id"))
        # PostgreSQL locks the row for the turn; SQLite's BEGIN IMMEDIATE already holds the
        # database's write lock, and other dialects get FOR UPDATE where they support it.
        self._lock_user = lock if self.dialect == "sqlite" else lock.with_for_update()
        self._insert_user = insert(users).values(
            fb_id=bindparam("fb_id"), state=bindparam("initial_state")
        )
        self._claim = insert(handled).values(message_id=bindparam("mid"), user_id=bindparam("fb"))
        self._is_handled = select(handled.c.message_id).where(
            handled.c.message_id == bindparam("mid")
        )
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
                .values(message_id=bindparam("mid"), user_id=bindparam("fb"))
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
        self._driver: dict[str, DriverStatement] | None = None
        self._last: tuple[Connection | None, bool] = (None, True)
        if upsert is not None and has_fast_path(engine.dialect):
            # handled_at's default is applied by Connection.execute; here we pass it.
            claim = (
                upsert(handled)
                .values(
                    message_id=bindparam("mid"), handled_at=bindparam("at"), user_id=bindparam("fb")
                )
                .on_conflict_do_nothing()
                .returning(handled.c.message_id)
            )
            statements = {
                "claim": claim,
                "is_handled": self._is_handled,
                "lock_user": self._lock_user,
                "insert_user": self._insert_user,
                "get_argument": self._get_argument,
                "upsert_argument": self._upsert_argument,
                "set_state": self._set_state,
            }
            self._driver = {
                name: DriverStatement(statement, engine.dialect)
                for name, statement in statements.items()
            }
            self._decode_value = arguments.c.value.type.dialect_impl(
                engine.dialect
            ).result_processor(engine.dialect, None)

    def _driver_connection(self, conn: Connection) -> Any:
        """The DBAPI connection to run prebuilt statements on, or None to use ``conn``.

        Whether anything watches the statements is decided once per ``Connection`` (a turn):
        the last answer is kept with the connection it was for.
        """
        if self._driver is None:
            return None
        last_conn, watched = self._last
        if last_conn is not conn:
            watched = statements_watched(conn)
            self._last = (conn, watched)
        return None if watched else conn.connection.dbapi_connection

    def claim_message(self, conn: Connection, message_id: str, user_id: str | None = None) -> bool:
        """Record ``message_id`` as handled; False when it already was (a redelivery).

        On PostgreSQL a concurrent claim of the same id waits for the first transaction and
        then sees the conflict, so exactly one turn handles the message.
        """
        driver = self._driver_connection(conn)
        if driver is not None:
            claim = self._driver["claim"]  # type: ignore[index]
            return (
                claim.first(conn, driver, {"mid": message_id, "at": _now(), "fb": user_id})
                is not None
            )
        if self.has_upsert:
            return conn.execute(self._claim, {"mid": message_id, "fb": user_id}).first() is not None
        try:
            with conn.begin_nested():
                conn.execute(self._claim, {"mid": message_id, "fb": user_id})
        except exc.IntegrityError:
            return False
        return True

    def is_handled(self, conn: Connection, message_id: str) -> bool:
        """Whether ``message_id`` was handled already, read on ``conn`` before its transaction.

        Nothing stays open afterwards: on SQLite no write lock is taken, and on PostgreSQL
        the read runs in autocommit, so no transaction idles while the platform is called.
        :meth:`claim_message` still decides, atomically, inside the turn.
        """
        driver = self._driver_connection(conn)
        if driver is None:
            found = conn.execute(self._is_handled, {"mid": message_id}).first() is not None
            conn.rollback()
            return found
        check = self._driver["is_handled"]  # type: ignore[index]
        if self.dialect != "postgresql" or driver.autocommit:
            return check.first(conn, driver, {"mid": message_id}) is not None
        driver.autocommit = True  # psycopg: client-side, no round trip
        try:
            return check.first(conn, driver, {"mid": message_id}) is not None
        finally:
            driver.autocommit = False

    def lock_user(self, conn: Connection, fb_id: str, initial_state: str) -> tuple[UserRow, bool]:
        """The user's ``(id, state)`` row, locked for the turn, created if new."""
        driver = self._driver_connection(conn)
        if driver is not None:
            statements = self._driver
            assert statements is not None
            params = {"fb_id": fb_id, "initial_state": initial_state}
            row = statements["lock_user"].first(conn, driver, params)
            if row is not None:
                return UserRow(*row), False
            inserted = statements["insert_user"].first(conn, driver, params)
            if inserted is not None:
                return UserRow(*inserted), True
            return UserRow(*statements["lock_user"].first(conn, driver, params)), False
        row = conn.execute(self._lock_user, {"fb_id": fb_id}).first()
        if row is not None:
            return UserRow(*row), False
        if self.has_upsert:
            inserted = conn.execute(
                self._insert_user, {"fb_id": fb_id, "initial_state": initial_state}
            ).first()
            if inserted is not None:  # our own new row: no other transaction can see it yet
                return UserRow(*inserted), True
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
        return UserRow(*conn.execute(self._lock_user, {"fb_id": fb_id}).one()), created

    def get_argument(self, conn: Connection, user_id: int, name: str) -> tuple[bool, Any]:
        driver = self._driver_connection(conn)
        if driver is not None:
            get = self._driver["get_argument"]  # type: ignore[index]
            row = get.first(conn, driver, {"uid": user_id, "key": name})
            if row is None:
                return False, None
            decode = self._decode_value
            return True, row[0] if decode is None else decode(row[0])
        row = conn.execute(self._get_argument, {"uid": user_id, "key": name}).first()
        return (False, None) if row is None else (True, row[0])

    def store_argument(self, conn: Connection, user_id: int, name: str, value: Any) -> None:
        params = {"uid": user_id, "key": name, "val": value}
        driver = self._driver_connection(conn)
        if driver is not None:
            self._driver["upsert_argument"].run(conn, driver, params)  # type: ignore[index]
        elif self.has_upsert:
            conn.execute(self._upsert_argument, params)
        elif conn.execute(self._update_argument, params).rowcount == 0:
            conn.execute(self._insert_argument, params)

    def set_state(self, conn: Connection, user_id: int, state: str) -> None:
        params = {"uid": user_id, "new": state}
        driver = self._driver_connection(conn)
        if driver is not None:
            self._driver["set_state"].run(conn, driver, params)  # type: ignore[index]
        else:
            conn.execute(self._set_state, params)
