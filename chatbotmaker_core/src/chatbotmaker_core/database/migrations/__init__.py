"""Alembic migrations of chatbotmaker's own tables, run by ``chatbotmaker db`` (``migrate.py``)."""
