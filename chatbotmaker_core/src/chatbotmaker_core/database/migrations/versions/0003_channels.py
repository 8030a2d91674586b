"""Channels: users unique per (channel, platform id), and the time of their last message.

Existing users get the channel the bot served them on: ``chatbotmaker db upgrade`` passes the
name of the config's single messenger (``--channel`` overrides it); called from code without
one, they get ``"facebook"``, the only messenger a database older than this revision can
have served (0.0.13 and ``[messenger] name = "facebook"``).
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0003"
down_revision = "0002"

#: the channel of existing users when ``db upgrade`` names none
DEFAULT_CHANNEL = "facebook"


def upgrade() -> None:
    channel = context.config.attributes.get("users_channel") or DEFAULT_CHANNEL
    op.add_column("users", sa.Column("channel", sa.String(64), nullable=False, server_default=""))
    op.add_column("users", sa.Column("last_message_at", sa.DateTime(timezone=True)))
    moved = op.get_bind().execute(sa.text("UPDATE users SET channel = :c"), {"c": channel})
    op.drop_index("ix_users_fb_id", "users")
    op.create_index("ix_users_fb_id", "users", ["fb_id"])
    op.create_index("uq_users_channel_fb_id", "users", ["channel", "fb_id"], unique=True)
    if moved.rowcount:  # reported by `db upgrade`
        context.config.attributes["channel"] = channel


def downgrade() -> None:
    shared = op.get_bind().execute(
        sa.text("SELECT fb_id FROM users GROUP BY fb_id HAVING COUNT(*) > 1 ORDER BY fb_id")
    )
    ids = [row[0] for row in shared]
    if ids:
        raise RuntimeError(
            f"cannot go back to revision 0002: {len(ids)} platform id(s) have a user on "
            f"several channels (e.g. {ids[0]!r}), and 0002 allows one user per id; delete "
            f"the users of the channels you drop (chatbotmaker users delete) first"
        )
    op.drop_index("uq_users_channel_fb_id", "users")
    op.drop_index("ix_users_fb_id", "users")
    op.create_index("ix_users_fb_id", "users", ["fb_id"], unique=True)
    # Plain DROP COLUMN (SQLite 3.35+), not a batch rebuild: dropping the old users table
    # would cascade to every argument (ON DELETE CASCADE) where foreign keys are enforced.
    op.execute("ALTER TABLE users DROP COLUMN last_message_at")
    op.execute("ALTER TABLE users DROP COLUMN channel")
