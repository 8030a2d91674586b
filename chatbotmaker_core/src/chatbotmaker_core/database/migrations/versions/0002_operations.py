"""Operations: recorded state changes (``chatbotmaker stats``) and the user of each handled
message id (``chatbotmaker users delete`` erases them)."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

HANDLED = "chatbotmaker_handled_messages"


def upgrade() -> None:
    # No index on the handled ids' user_id, nor on the state changes' time: each turn writes
    # both tables, and an index each cost about a tenth of a SQLite turn (docs/decisions.md);
    # the operator commands that read them by user or time (erasure, stats --since) scan.
    op.add_column(HANDLED, sa.Column("user_id", sa.String(255)))
    op.create_table(
        "chatbotmaker_transitions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("from_state", sa.String(255)),
        sa.Column("to_state", sa.String(255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_chatbotmaker_transitions_user_id", "chatbotmaker_transitions", ["user_id"])


def downgrade() -> None:
    op.drop_table("chatbotmaker_transitions")
    with op.batch_alter_table(HANDLED) as batch:  # SQLite rebuilds the table
        batch.drop_column("user_id")
