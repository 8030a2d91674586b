"""This project's first schema (what ``create_all`` made before versions), or a 0.0.13 database
brought to it (``port_0013.py``)."""

import sqlalchemy as sa
from alembic import op

from chatbotmaker_core.database.migrations.port_0013 import port_0013
from chatbotmaker_core.database.values import ArgumentValue

revision = "0001"
down_revision = None


def upgrade() -> None:
    names = set(sa.inspect(op.get_bind()).get_table_names())
    if "chatbotmaker_handled_messages" in names:
        return  # the first schema, made by create_all before versions existed
    if "users" in names:
        config = op.get_context().config
        port_0013(op.get_bind(), config.attributes if config is not None else {})
    else:
        op.create_table(
            "users",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("fb_id", sa.String(255), nullable=False),
            sa.Column("state", sa.String(255), nullable=False),
        )
        op.create_index("ix_users_fb_id", "users", ["fb_id"], unique=True)
        op.create_table(
            "arguments",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(255), nullable=False),
            sa.Column("value", ArgumentValue),
            sa.Column(
                "user_id",
                sa.Integer,
                sa.ForeignKey("users.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.UniqueConstraint("user_id", "name", name="uq_arguments_user_name"),
        )
    create_bookkeeping()


def create_bookkeeping() -> None:
    op.create_table(
        "chatbotmaker_handled_messages",
        sa.Column("message_id", sa.String(255), primary_key=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "chatbotmaker_delivery_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("code", sa.String(64)),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_chatbotmaker_delivery_failures_user_id", "chatbotmaker_delivery_failures", ["user_id"]
    )


def downgrade() -> None:
    raise RuntimeError(
        "chatbotmaker's first schema holds the users themselves: there is no version to go "
        "back to (downgrade to 0001 at the lowest)"
    )
