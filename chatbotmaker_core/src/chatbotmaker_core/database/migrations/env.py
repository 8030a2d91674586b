"""Alembic's environment: the connection and options come from ``migrate.py``, never a file."""

from alembic import context

from chatbotmaker_core.database.schema import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
