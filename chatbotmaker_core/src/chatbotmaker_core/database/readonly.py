"""A look at the database for ``chatbotmaker check``, changing nothing.

``Database`` creates its tables (and a SQLite file) when made, and sets SQLite's journal mode:
right for start-up, wrong for a check. Here the options are validated the way start-up would
(URL, driver, engine options, base) and an existing database is opened read-only: SQLite
with ``mode=ro``, PostgreSQL with ``default_transaction_read_only``. A SQLite file that does
not exist yet is left uncreated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, engine_from_config, inspect, text
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import NullPool

from ..errors import ConfigError
from . import CONNECT_TIMEOUT
from .models import models_for
from .startup import check_base, connect_error, engine_error, parse_url, sqlite_folder_error


@dataclass
class Probe:
    """What ``check`` learnt: the backend, and how many users are in each state (empty when
    the database or its tables do not exist yet)."""

    backend: str
    state_counts: dict[str, int] = field(default_factory=dict)


def open_read_only(
    url_value: Any, base: Any, engine_options: dict[str, Any], notes: list[str]
) -> Probe:
    """Validate ``[database]`` as start-up would and read the users' states, read-only.

    Raises ConfigError for what would stop start-up; appends to ``notes`` what would not.
    """
    url = parse_url(url_value)
    if base is not None:
        models_for(check_base(base))
    options = {f"sqlalchemy.{key}": value for key, value in engine_options.items()}
    try:
        engine_from_config({"sqlalchemy.url": url, **options}, prefix="sqlalchemy.").dispose()
    except (ArgumentError, TypeError) as error:  # a bad engine option
        known = engine_error(url, error)
        raise known or ConfigError(f"[database] {error}") from None
    except ImportError as error:
        raise engine_error(url, error) or ConfigError(f"[database] {error}") from None
    probe = Probe(url.get_backend_name())
    engine = _read_only_engine(url, notes)
    if engine is None:
        return probe
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("users"):
                notes.append(
                    f"[database] {_shown(url)} has no tables yet; the bot creates them at "
                    f"start-up (or run chatbotmaker init-db)"
                )
                return probe
            rows = conn.execute(text("SELECT state, COUNT(*) FROM users GROUP BY state"))
            probe.state_counts = {state: count for state, count in rows}
    except DBAPIError as error:
        raise connect_error(url, error) from None
    finally:
        engine.dispose()
    return probe


def _read_only_engine(url: URL, notes: list[str]) -> Engine | None:
    if url.get_backend_name() != "sqlite":
        connect_args: dict[str, Any] = {}
        if url.get_backend_name() == "postgresql":
            connect_args = {
                "connect_timeout": CONNECT_TIMEOUT,
                "options": "-c default_transaction_read_only=on",
            }
        return create_engine(url, poolclass=NullPool, connect_args=connect_args)
    database = url.database
    if not database or database == ":memory:":
        return None  # an in-memory database is new at every start
    problem = sqlite_folder_error(url)
    if problem is not None:
        raise problem
    path = Path(database)
    if not path.exists():
        notes.append(
            f"[database] the SQLite file {database!r} does not exist yet; the bot creates it "
            f"at start-up (check left it uncreated)"
        )
        return None
    uri = f"file:{path.resolve().as_posix()}?mode=ro"
    return create_engine(
        URL.create("sqlite", database=uri, query={"uri": "true"}), poolclass=NullPool
    )


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)
