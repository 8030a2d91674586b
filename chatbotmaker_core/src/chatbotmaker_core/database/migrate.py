"""Running our Alembic migrations from code: a user never runs ``alembic init``.

The scripts live in ``migrations/`` inside the package; the Alembic ``Config`` is built here,
with the connection handed to ``env.py`` through its attributes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from .schema import FIRST, detect, stamp

log = logging.getLogger(__name__)
SCRIPTS = Path(__file__).parent / "migrations"


def alembic_config(conn: Connection | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = conn
    return config


def upgrade(database: Any, revision: str = "head", *, channel: str | None = None) -> dict[str, Any]:
    """Bring the database to ``revision``; then create the application's tables. Returns
    ``{"from": version, "to": version, "merged": [...], "dropped_arguments": n}`` (and
    ``"channel"``: the channel existing users got, when revision 0003 ran).

    ``channel`` names the messenger existing users came from (revision 0003); None: the one
    the migration assumes (``"facebook"``)."""
    from alembic import command

    with database.schema_transaction() as conn:
        before = detect(conn)
        if before == "unversioned-first":
            stamp(conn, FIRST)  # made by create_all before versions: it is revision 0001
        config = alembic_config(conn)
        config.attributes["users_channel"] = channel
        command.upgrade(config, revision)
        database.base.metadata.create_all(conn)
        after = detect(conn)
    report = {"from": before, "to": after}
    report.update(
        {k: v for k, v in config.attributes.items() if k not in ("connection", "users_channel")}
    )
    return report


def downgrade(database: Any, revision: str) -> tuple[str | None, str | None]:
    from alembic import command

    with database.schema_transaction() as conn:
        before = detect(conn)
        command.downgrade(alembic_config(conn), revision)
        return before, detect(conn)


def history() -> list[tuple[str, str | None, str]]:
    """``(revision, down_revision, first line of its docstring)``, oldest first."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    found: list[tuple[str, str | None, str]] = []
    for script in reversed(list(scripts.walk_revisions())):
        doc = (script.doc or "").strip().splitlines()
        down = script.down_revision
        below = ", ".join(down) if isinstance(down, (list, tuple)) else down
        found.append((script.revision, below, doc[0] if doc else ""))
    return found


def head() -> str:
    from alembic.script import ScriptDirectory

    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert found is not None, "chatbotmaker's migrations have a head revision"
    return found
