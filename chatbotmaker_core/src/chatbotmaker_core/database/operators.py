"""What ``chatbotmaker users`` and ``stats`` read and write: users, erasure, statistics."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, func, inspect, select, text, update

from ..errors import ChatbotmakerError


class UnknownUserError(ChatbotmakerError):
    """No user has this platform id."""


class AmbiguousUserError(ChatbotmakerError):
    """The platform id is a user on several channels and no channel was given."""


def _user_row(conn: Any, database: Any, fb_id: str, channel: str | None = None) -> Any:
    """The one user with this id (on ``channel`` if given): never "the first found"."""
    users = database.models.User.__table__
    query = select(users.c.id, users.c.state, users.c.channel).where(users.c.fb_id == fb_id)
    if channel is not None:
        query = query.where(users.c.channel == channel)
    rows = conn.execute(query.order_by(users.c.channel)).all()
    if not rows:
        where = "" if channel is None else f" on channel {channel!r}"
        raise UnknownUserError(
            f"no user {fb_id!r}{where} in {database.url}; "
            "`chatbotmaker users CONFIG list` shows them"
        )
    if len(rows) > 1:
        channels = ", ".join(row.channel for row in rows)
        raise AmbiguousUserError(
            f"user {fb_id!r} is on several channels ({channels}); "
            f"name one with --channel, e.g. --channel {rows[0].channel}"
        )
    return rows[0]


def _shared_with(conn: Any, database: Any, fb_id: str, channel: str) -> list[str]:
    """The other channels where ``fb_id`` is a user too: the rows keyed by the platform id
    alone (transitions, handled messages, delivery failures) cannot be told apart then."""
    users = database.models.User.__table__
    query = select(users.c.channel).where(users.c.fb_id == fb_id, users.c.channel != channel)
    return [name for (name,) in conn.execute(query.order_by(users.c.channel))]


def list_users(
    database: Any, state: str | None = None, channel: str | None = None
) -> list[dict[str, Any]]:
    """``[{"id", "channel", "state"}]`` ordered by id then channel."""
    users = database.models.User.__table__
    query = select(users.c.fb_id, users.c.channel, users.c.state).order_by(
        users.c.fb_id, users.c.channel
    )
    if state is not None:
        query = query.where(users.c.state == state)
    if channel is not None:
        query = query.where(users.c.channel == channel)
    with database.engine.connect() as conn:
        return [
            {"id": fb_id, "channel": name, "state": st} for fb_id, name, st in conn.execute(query)
        ]


def show_user(database: Any, fb_id: str, channel: str | None = None) -> dict[str, Any]:
    """``{"id", "channel", "state", "arguments", "transitions", "handled_messages",
    "delivery_failures", "shared_with"}``; the last three are keyed by the platform id alone,
    so with the same id on other channels (``shared_with``) they count theirs too."""
    models = database.models
    transitions = models.Transition.__table__
    with database.engine.connect() as conn:
        row = _user_row(conn, database, fb_id, channel)
        shared = _shared_with(conn, database, fb_id, row.channel)
        moves = conn.execute(
            select(transitions.c.from_state, transitions.c.to_state, transitions.c.at)
            .where(transitions.c.user_id == fb_id)
            .order_by(transitions.c.id)
        ).all()
        handled = models.HandledMessage.__table__
        failures = models.DeliveryFailure.__table__
        counts = {
            "handled_messages": conn.execute(
                select(func.count()).where(handled.c.user_id == fb_id)
            ).scalar(),
            "delivery_failures": conn.execute(
                select(func.count()).where(failures.c.user_id == fb_id)
            ).scalar(),
        }
    return {
        "id": fb_id,
        "channel": row.channel,
        "state": row.state,
        "arguments": database.get_arguments(fb_id, channel=row.channel),
        "transitions": [
            {"from": a, "to": b, "at": at.isoformat() if isinstance(at, datetime) else str(at)}
            for a, b, at in moves
        ],
        **counts,
        "shared_with": shared,
    }


def set_state(
    database: Any, dispatcher: Any, fb_id: str, state: str, channel: str | None = None
) -> str:
    """Put the user in ``state`` (checked against the rules, no handler runs); the old state."""
    dispatcher.check_state(state)
    users = database.models.User.__table__
    with database.engine.begin() as conn:
        row = _user_row(conn, database, fb_id, channel)
        conn.execute(update(users).where(users.c.id == row.id).values(state=state))
        if row.state != state:
            conn.execute(
                database.models.Transition.__table__.insert().values(
                    user_id=fb_id,
                    from_state=row.state,
                    to_state=state,
                    at=datetime.now(timezone.utc),
                )
            )
    return row.state


def reset_user(database: Any, fb_id: str, initial_state: str, channel: str | None = None) -> None:
    """The initial state, no arguments (history kept: it is the bot's statistics)."""
    set_state_unchecked = database.models.User.__table__
    arguments = database.models.Argument.__table__
    with database.engine.begin() as conn:
        row = _user_row(conn, database, fb_id, channel)
        conn.execute(delete(arguments).where(arguments.c.user_id == row.id))
        conn.execute(
            update(set_state_unchecked)
            .where(set_state_unchecked.c.id == row.id)
            .values(state=initial_state)
        )


def delete_user(database: Any, fb_id: str, channel: str | None = None) -> dict[str, int]:
    """Erase the user and everything stored about them; rows deleted per table.

    Rows of the application's tables with a foreign key to ``users.id`` are deleted first
    (whatever their ``ON DELETE``), then ours: arguments, handled message ids, transitions,
    delivery failures, the user. The middle three hold the platform id alone: while the same
    id is a user on another channel they are kept (they cannot be told apart, and erasing
    one person must not erase another's history), and absent
    from the result; the last of the users sharing the id to be erased takes them.
    """
    models = database.models
    deleted: dict[str, int] = {}
    with database.engine.begin() as conn:
        row = _user_row(conn, database, fb_id, channel)
        shared = _shared_with(conn, database, fb_id, row.channel)
        for table, column in _application_references(conn):
            result = conn.execute(
                text(f'DELETE FROM "{table}" WHERE "{column}" = :uid'), {"uid": row.id}
            )
            deleted[table] = deleted.get(table, 0) + (result.rowcount or 0)
        arguments = models.Argument.__table__
        deleted["arguments"] = conn.execute(
            delete(arguments).where(arguments.c.user_id == row.id)
        ).rowcount
        for model in (models.HandledMessage, models.Transition, models.DeliveryFailure):
            table = model.__table__
            if shared:
                continue
            deleted[table.name] = conn.execute(
                delete(table).where(table.c.user_id == fb_id)
            ).rowcount
        users = models.User.__table__
        deleted["users"] = conn.execute(delete(users).where(users.c.id == row.id)).rowcount
    return deleted


def _application_references(conn: Any) -> list[tuple[str, str]]:
    inspector = inspect(conn)
    found: list[tuple[str, str]] = []
    for table in inspector.get_table_names():
        if table == "arguments":
            continue
        for key in inspector.get_foreign_keys(table):
            if key["referred_table"] == "users" and key["referred_columns"] == ["id"]:
                found.extend((table, column) for column in key["constrained_columns"])
    return found


def statistics(database: Any, since: datetime | None = None) -> dict[str, Any]:
    """Users now in each state, entries per state, transitions with counts, drop-off (users
    whose last recorded state is X and who had no change since), over ``since`` if given."""
    users = database.models.User.__table__
    moves = database.models.Transition.__table__
    window = [] if since is None else [moves.c.at >= since]
    with database.engine.connect() as conn:
        now = dict(conn.execute(select(users.c.state, func.count()).group_by(users.c.state)).all())
        entries = dict(
            conn.execute(
                select(moves.c.to_state, func.count()).where(*window).group_by(moves.c.to_state)
            ).all()
        )
        pairs = conn.execute(
            select(moves.c.from_state, moves.c.to_state, func.count())
            .where(*window)
            .group_by(moves.c.from_state, moves.c.to_state)
            .order_by(func.count().desc(), moves.c.from_state, moves.c.to_state)
        ).all()
        last = (
            select(moves.c.user_id, func.max(moves.c.id).label("last"))
            .where(*window)
            .group_by(moves.c.user_id)
            .subquery()
        )
        drop = dict(
            conn.execute(
                select(moves.c.to_state, func.count())
                .join(last, moves.c.id == last.c.last)
                .group_by(moves.c.to_state)
            ).all()
        )
    return {
        "since": None if since is None else since.isoformat(),
        "users_per_state": dict(sorted(now.items())),
        "entries_per_state": dict(sorted(entries.items())),
        "transitions": [{"from": a, "to": b, "count": n} for a, b, n in pairs],
        "drop_off": dict(sorted(drop.items())),
    }
