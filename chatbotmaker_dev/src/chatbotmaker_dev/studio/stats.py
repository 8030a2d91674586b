"""The users-per-state counts painted on the diagram, from the config's own database.

The studio chats on a database of its own; these counts are the real bot's users, read from
the config's ``[database]`` through the read-only probe ``chatbotmaker check`` uses
(:func:`chatbotmaker_core.database.readonly.open_read_only`): SQLite opened with
``mode=ro``, PostgreSQL in a read-only transaction. Nothing is created or changed: a database
that does not exist yet, or has no tables, gives no counts. Relative SQLite paths resolve
against the current directory, as they do for the bot and ``chatbotmaker check``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chatbotmaker_core.config import load_config
from chatbotmaker_core.database.readonly import open_read_only
from chatbotmaker_core.errors import ChatbotmakerError

log = logging.getLogger(__name__)

#: ``[database]`` keys that are not engine options (``base`` is not needed to count users)
NOT_ENGINE = ("name", "url", "base", "busy_timeout")


def state_counts(config_path: str | Path) -> dict[str, int]:
    """``{state: users in it}`` in the config's database; ``{}`` when there is none to read
    (not a ``sqlalchemy`` database, not created yet, unreachable, or a broken config)."""
    try:
        section = load_config(config_path).get("database")
        if not isinstance(section, Mapping) or section.get("name") != "sqlalchemy":
            return {}
        options: dict[str, Any] = {k: v for k, v in section.items() if k not in NOT_ENGINE}
        probe = open_read_only(section.get("url"), None, options, [])
    except ChatbotmakerError as error:
        # the counts decorate the diagram: the page shows the config's errors elsewhere
        log.debug("no statistics for %s: %s", config_path, error)
        return {}
    return dict(probe.state_counts)
