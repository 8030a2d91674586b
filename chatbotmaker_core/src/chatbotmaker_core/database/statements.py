"""The turn's SQLAlchemy Core statements, built once per set of tables and dialect.

Internal module: used by :mod:`.store` and :mod:`.driver`, not part of the public API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.sql import Executable

from .models import Models


def upsert_for(dialect: str) -> Any:
    """The dialect's ``INSERT … ON CONFLICT`` construct, or None. Imported for the dialect in
    use only: PostgreSQL's module alone takes a tenth of a second to import."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    return None


@dataclass(frozen=True)
class Statements:
    """Every statement a turn runs; the ``upsert_*`` ones only where the dialect has them.

    Parameters: ``channel``, ``platform_id``, ``initial_state``, ``at`` (users); ``mid``,
    ``at``, ``platform_id`` (handled ids); ``uid``, ``key``, ``val`` (arguments); ``new`` and
    ``at`` (the state and the time of the user's last message, one UPDATE).
    """

    lock_user: Executable
    insert_user: Executable
    claim: Executable
    is_handled: Executable
    get_argument: Executable
    update_argument: Executable
    insert_argument: Executable
    set_state: Executable
    #: one state change of the user (``platform_id``): ``from``, ``to``, ``at``
    insert_transition: Executable
    #: ``ON CONFLICT`` forms, None on a dialect without them
    upsert_user: Executable | None = None
    upsert_claim: Executable | None = None
    upsert_argument: Executable | None = None
    #: ``upsert_claim`` without ``RETURNING``, for drivers whose rowcount tells (driver.py)
    upsert_claim_counted: Executable | None = None


def build_statements(models: Models, dialect: str) -> Statements:
    users = models.User.__table__
    arguments = models.Argument.__table__
    handled = models.HandledMessage.__table__
    lock = select(users.c.id, users.c.state).where(
        users.c.channel == bindparam("channel"), users.c.fb_id == bindparam("platform_id")
    )
    new_user: dict[str, Any] = {
        "channel": bindparam("channel"),
        "fb_id": bindparam("platform_id"),
        "state": bindparam("initial_state"),
        "last_message_at": bindparam("at"),
    }
    upsert = upsert_for(dialect)
    extra: dict[str, Any] = {}
    if upsert is not None:
        extra["upsert_user"] = (
            upsert(users)
            .values(**new_user)
            .on_conflict_do_nothing(index_elements=[users.c.channel, users.c.fb_id])
            .returning(users.c.id, users.c.state)
        )
        # RETURNING tells whether a row was inserted; rowcount is not reliable on every driver.
        # handled_at is passed: Connection.execute would apply its default, a driver would not.
        claim = (
            upsert(handled)
            .values(
                message_id=bindparam("mid"),
                handled_at=bindparam("at"),
                user_id=bindparam("platform_id"),
            )
            .on_conflict_do_nothing()
        )
        extra["upsert_claim"] = claim.returning(handled.c.message_id)
        extra["upsert_claim_counted"] = claim
        stmt = upsert(arguments).values(
            user_id=bindparam("uid"), name=bindparam("key"), value=bindparam("val")
        )
        extra["upsert_argument"] = stmt.on_conflict_do_update(
            index_elements=[arguments.c.user_id, arguments.c.name],
            set_={"value": stmt.excluded.value},
        )
    return Statements(
        # PostgreSQL locks the row for the turn; SQLite's BEGIN IMMEDIATE already holds the
        # database's write lock, and other dialects get FOR UPDATE where they support it.
        lock_user=lock if dialect == "sqlite" else lock.with_for_update(),
        insert_user=insert(users).values(**new_user),
        claim=insert(handled).values(
            message_id=bindparam("mid"),
            handled_at=bindparam("at"),
            user_id=bindparam("platform_id"),
        ),
        is_handled=select(handled.c.message_id).where(handled.c.message_id == bindparam("mid")),
        get_argument=select(arguments.c.value).where(
            arguments.c.user_id == bindparam("uid"), arguments.c.name == bindparam("key")
        ),
        update_argument=update(arguments)
        .where(arguments.c.user_id == bindparam("uid"), arguments.c.name == bindparam("key"))
        .values(value=bindparam("val", type_=arguments.c.value.type)),
        insert_argument=insert(arguments).values(
            user_id=bindparam("uid"), name=bindparam("key"), value=bindparam("val")
        ),
        set_state=update(users)
        .where(users.c.id == bindparam("uid"))
        .values(state=bindparam("new"), last_message_at=bindparam("at")),
        insert_transition=insert(models.Transition.__table__).values(
            user_id=bindparam("platform_id"),
            from_state=bindparam("from"),
            to_state=bindparam("to"),
            at=bindparam("at"),
        ),
        **extra,
    )
