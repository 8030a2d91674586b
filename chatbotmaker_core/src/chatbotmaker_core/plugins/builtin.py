"""The components chatbotmaker-core registers: database ``sqlalchemy``, rule sources ``python``
and ``flow``.

Registered in-process by the plugin manager (no entry point), so they exist in a source
checkout that was never installed, and a plugin clashing with them is told they are built in.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import config_folder, import_object
from ..dispatcher import Dispatcher
from ..errors import ConfigError
from ..hookspecs import RegisterDatabase, RegisterRuleSource, hookimpl

if TYPE_CHECKING:
    from ..database import Database


def sqlalchemy_database(
    url: str | None = None,
    base: str | None = None,
    busy_timeout: float | None = None,
    **engine: Any,
) -> Database:
    """``[database] name = "sqlalchemy"``: ``url``, optional ``base = "module:Base"`` for an
    application's own tables, ``busy_timeout`` (SQLite's lock wait, seconds) and any
    ``engine_from_config`` option (``pool_size = 10``)."""
    if not url:
        raise ConfigError("missing the key 'url' (e.g. url = \"sqlite:///bot.db\")")
    # SQLAlchemy is imported when a database is made, not when plugins are discovered.
    from sqlalchemy.exc import ArgumentError

    from ..database import Database

    config = {
        "sqlalchemy.url": url,
        **{f"sqlalchemy.{key}": value for key, value in engine.items()},
    }
    declarative_base = import_object(base, "[database] base")[1] if base else None
    try:
        return Database(config, base=declarative_base, busy_timeout=busy_timeout)
    except (ArgumentError, TypeError) as error:  # a bad engine option or URL
        raise ConfigError(f"[database] {error}") from None


def python_rules(source: str | None = None) -> Dispatcher:
    """``[rules] name = "python"``: ``source = "module:attribute"`` holding a Dispatcher config
    (or a ``Dispatcher``); DEFAULT states are bound from that module's namespace."""
    if not source:
        raise ConfigError("missing the key 'source' (e.g. source = \"my_bot.rules:RULES\")")
    module, rules = import_object(source, "[rules] source")
    if isinstance(rules, Dispatcher):
        return rules
    if not isinstance(rules, Mapping):
        raise ConfigError(
            f"[rules] source: {source!r} is {'None' if rules is None else type(rules).__name__}"
            f", not a rules mapping; "
            f"point it at a dict like {{'actions': {{'welcome': {{'func': ...}}}}}} "
            f"or a Dispatcher"
        )
    return Dispatcher(rules, env=vars(module))


def flow_rules(source: str | None = None) -> Dispatcher:
    """``[rules] name = "flow"``: ``source = "pizza.flow.yaml"``, a flow file relative to the
    config file's folder (docs/flows.md); its ``call`` modules import from that folder too."""
    if not source:
        raise ConfigError("missing the key 'source' (e.g. source = \"bot.flow.yaml\")")
    # The flow package (ruamel.yaml, jsonschema, Jinja2) loads only when a flow is used.
    from ..flow import load_flow

    folder = config_folder()
    return load_flow(folder / Path(source), folder=folder)


@hookimpl
def register_databases(register: RegisterDatabase) -> None:
    register("sqlalchemy", sqlalchemy_database)


@hookimpl
def register_rule_sources(register: RegisterRuleSource) -> None:
    register("python", python_rules)
    register("flow", flow_rules)
