"""Bring a chatbotmaker 0.0.13 database to our first schema, keeping every user and argument.

0.0.13 made ``users(id, fb_id, state)`` and ``arguments(id, name, value, user_id)`` with plain
string values and no unique constraints; two first messages of one user handled at once could
create two user rows (after which 0.0.13 itself failed every turn of that user). The rule:

- duplicate users (one ``fb_id``, several rows): the row with the lowest id survives with its
  state; an argument the survivor lacks is taken from the lowest-id duplicate that has it;
  rows of the application's tables pointing at a duplicate are re-pointed to the survivor;
  the duplicates are deleted and reported (``attributes["merged"]``);
- duplicate arguments (one user, one name): the highest id, the last written, survives;
- arguments of no user (``user_id`` or ``name`` NULL) cannot be reached: dropped, reported;
- values become JSON strings (``"5"`` stays the string ``"5"``);
- then ``users.fb_id`` gets its unique index and ``arguments`` its unique constraint and
  ``ON DELETE CASCADE``. The application's own tables keep their structure.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from ..values import ArgumentValue


def port_0013(conn: sa.Connection, report: dict[str, Any]) -> None:
    report["merged"] = merge_duplicate_users(conn)
    report["dropped_arguments"] = drop_unreachable_arguments(conn)
    conn.execute(
        sa.text(
            "DELETE FROM arguments WHERE id NOT IN "
            "(SELECT keep FROM (SELECT max(id) AS keep FROM arguments GROUP BY user_id, name) k)"
        )
    )
    if conn.dialect.name == "sqlite":
        _rebuild_arguments_sqlite(conn)
    else:
        _alter_arguments(conn)
    op.create_index("ix_users_fb_id", "users", ["fb_id"], unique=True)


def merge_duplicate_users(conn: sa.Connection) -> list[dict[str, Any]]:
    """Merge each ``fb_id``'s rows into its lowest id; ``[{fb_id, kept, merged: [ids]}]``."""
    rows = conn.execute(
        sa.text(
            "SELECT fb_id, id FROM users WHERE fb_id IN "
            "(SELECT fb_id FROM users GROUP BY fb_id HAVING count(*) > 1) ORDER BY fb_id, id"
        )
    ).all()
    groups: dict[str, list[int]] = {}
    for fb_id, user_id in rows:
        groups.setdefault(fb_id, []).append(user_id)
    references = _references_to_users(conn)
    merged = []
    for fb_id, (kept, *duplicates) in groups.items():
        for duplicate in duplicates:
            params = {"kept": kept, "dup": duplicate}
            conn.execute(
                sa.text(
                    "UPDATE arguments SET user_id = :kept WHERE user_id = :dup AND name NOT IN "
                    "(SELECT name FROM (SELECT name FROM arguments WHERE user_id = :kept "
                    "AND name IS NOT NULL) n)"
                ),
                params,
            )
            conn.execute(sa.text("DELETE FROM arguments WHERE user_id = :dup"), params)
            for table, column in references:
                conn.execute(
                    sa.text(f'UPDATE "{table}" SET "{column}" = :kept WHERE "{column}" = :dup'),
                    params,
                )
            conn.execute(sa.text("DELETE FROM users WHERE id = :dup"), params)
        merged.append({"fb_id": fb_id, "kept": kept, "merged": duplicates})
    return merged


def _references_to_users(conn: sa.Connection) -> list[tuple[str, str]]:
    """``(table, column)`` of every single-column foreign key to ``users.id`` but ours."""
    inspector = sa.inspect(conn)
    found: list[tuple[str, str]] = []
    for table in inspector.get_table_names():
        if table == "arguments":
            continue
        for key in inspector.get_foreign_keys(table):
            if key["referred_table"] == "users" and key["referred_columns"] == ["id"]:
                found.extend((table, column) for column in key["constrained_columns"])
    return found


def drop_unreachable_arguments(conn: sa.Connection) -> int:
    result = conn.execute(sa.text("DELETE FROM arguments WHERE user_id IS NULL OR name IS NULL"))
    return result.rowcount or 0


def _rebuild_arguments_sqlite(conn: sa.Connection) -> None:
    """SQLite cannot alter a column: a new ``arguments`` table, values quoted as JSON."""
    op.rename_table("arguments", "chatbotmaker_arguments_0013")
    op.create_table(
        "arguments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", ArgumentValue),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.UniqueConstraint("user_id", "name", name="uq_arguments_user_name"),
    )
    conn.execute(
        sa.text(
            "INSERT INTO arguments (id, name, value, user_id) SELECT id, name, "
            "CASE WHEN value IS NULL THEN NULL ELSE json_quote(CAST(value AS TEXT)) END, "
            "user_id FROM chatbotmaker_arguments_0013"
        )
    )
    op.drop_table("chatbotmaker_arguments_0013")


def _alter_arguments(conn: sa.Connection) -> None:
    """PostgreSQL alters in place: ``value`` to json, NOT NULLs, the constraint, the cascade."""
    op.alter_column("arguments", "value", type_=sa.JSON(), postgresql_using="to_json(value)")
    op.alter_column("arguments", "name", type_=sa.String(255), nullable=False)
    op.alter_column("arguments", "user_id", nullable=False)
    for key in sa.inspect(conn).get_foreign_keys("arguments"):
        name = key.get("name")
        if key["referred_table"] == "users" and name:
            op.drop_constraint(name, "arguments", type_="foreignkey")
    op.create_foreign_key(
        "arguments_user_id_fkey", "arguments", "users", ["user_id"], ["id"], ondelete="CASCADE"
    )
    op.create_unique_constraint("uq_arguments_user_name", "arguments", ["user_id", "name"])
