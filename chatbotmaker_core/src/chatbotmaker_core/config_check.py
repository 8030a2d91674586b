"""``chatbotmaker check``: every problem of a config, without starting the bot.

It builds what start-up builds (messenger, rules), except the database: making our
``Database`` creates its tables and, on SQLite, the file. ``check`` only validates the
database options, and opens an existing database read-only, to see that it answers and to
count users sitting in states the rules no longer have. Errors mean the bot cannot start (or
cannot receive anything); warnings and notes do not change the exit code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import (
    COMPONENTS,
    build_component,
    component_options,
    import_object,
    label,
    load_config,
    messenger_tables,
    unknown_options,
    unknown_tables,
)
from .errors import ConfigError, UnknownStateError
from .plugins import PluginManager, get_plugin_manager
from .plugins.builtin import sqlalchemy_database

log = logging.getLogger(__name__)


@dataclass
class CheckReport:
    """What ``check`` found: ``errors`` (exit 1), ``warnings`` and ``notes`` (exit 0)."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: table -> the plugin name it selects, for the summary line
    components: dict[str, str] = field(default_factory=dict)


def check(
    source: str | Path | Mapping[str, Any], plugins: PluginManager | None = None
) -> CheckReport:
    """Check a config file (or mapping); never creates or changes a database."""
    report = CheckReport()
    try:
        config = load_config(source)
    except ConfigError as error:
        report.errors.extend(error.problems)
        return report
    report.errors.extend(unknown_tables(config))
    plugins = plugins or get_plugin_manager()
    options = _bot(config, report)
    _messengers(config, plugins, report)
    rules = _build(config, "rules", plugins, report)
    database = _database(config, plugins, report)
    if options is not None and rules is not None:
        try:
            rules.check_state(options["initial_state"])
        except UnknownStateError as error:
            report.errors.append(f"[bot] initial_state: {error}")
    if options is not None and options["mode"] == "queued":
        _queued(database, report)
    _worker(config, report)
    report.errors.extend(_metrics_problems(config))
    if database is not None and rules is not None and options is not None:
        for state, count in sorted(database.state_counts.items()):
            if not rules.has_state(state):
                report.warnings.append(
                    f"[database] {count} user{'s are' if count != 1 else ' is'} in state "
                    f"{state!r}, which the rules no longer have; they will be moved to the "
                    f"initial state {options['initial_state']!r} on their next message"
                )
    return report


def _bot(config: Mapping[str, Any], report: CheckReport) -> dict[str, Any] | None:
    from .bot import _bot_options

    try:
        return _bot_options(config.get("bot") or {})
    except ConfigError as error:
        report.errors.extend(error.problems)
        return None


def _build(
    config: Mapping[str, Any],
    table: str,
    plugins: PluginManager,
    report: CheckReport,
    kind: str | None = None,
) -> Any:
    try:
        report.components[table] = component_options(config, table)[0]
        return build_component(config, table, plugins, kind)
    except ConfigError as error:
        report.errors.extend(error.problems)
        return None


def _messengers(config: Mapping[str, Any], plugins: PluginManager, report: CheckReport) -> None:
    """Build each messenger table (``[messenger]``, or every ``[messengers.<name>]``)."""
    try:
        tables = messenger_tables(config)
    except ConfigError as error:
        report.errors.extend(error.problems)
        return
    for channel, options in tables.items():
        table = label(config, channel)
        messenger = _build({table: options}, table, plugins, report, "messenger")
        for problem in getattr(messenger, "setup_problems", None) or ():
            report.errors.append(f"[{table}] {report.components[table]}: {problem}")


def _database(config: Mapping[str, Any], plugins: PluginManager, report: CheckReport) -> Any:
    """The database URL if its options are valid and it answers read-only, else ``None``."""
    try:
        name, options = component_options(config, "database")
        report.components["database"] = name
        factory = plugins.factory(COMPONENTS["database"], name)
    except ConfigError as error:
        report.errors.extend(error.problems)
        return None
    if factory is not sqlalchemy_database:
        problems = unknown_options(factory, "database", name, options)
        report.errors.extend(problems)
        report.notes.append(
            f"[database] the {name!r} plugin's database is not opened by check, which never "
            f"creates or changes a database; start the bot to test it"
        )
        return None
    from .database import busy_timeout_seconds
    from .database.readonly import open_read_only

    try:
        busy_timeout_seconds(options.pop("busy_timeout", None))
        base = options.pop("base", None)
        declarative_base = import_object(base, "[database] base")[1] if base else None
        return open_read_only(options.pop("url", None), declarative_base, options, report.notes)
    except ConfigError as error:
        report.errors.extend(error.problems)
        return None


def _queued(database: Any, report: CheckReport) -> None:
    if database is not None and database.backend != "postgresql":
        report.errors.append(
            f"[bot] mode = 'queued' needs PostgreSQL, but the database is {database.backend}; "
            f"use mode = 'inline' or a postgresql URL"
        )
    try:
        import procrastinate  # noqa: F401
    except ImportError:
        report.errors.append(
            "[bot] mode = 'queued' needs procrastinate: pip install 'chatbotmaker-core[queue]'"
        )


def _worker(config: Mapping[str, Any], report: CheckReport) -> None:
    table = config.get("worker")
    if table is None:
        return
    try:
        from .queued.worker import WorkerSettings
    except ImportError:
        report.notes.append(
            "[worker] not checked: procrastinate is not installed "
            "(pip install 'chatbotmaker-core[queue]')"
        )
        return
    try:
        WorkerSettings.from_table(table)
    except ConfigError as error:
        report.errors.extend(error.problems)


def _metrics_problems(config: Mapping[str, Any]) -> list[str]:
    """``[metrics]``: unknown keys and wrong types (metrics.py)."""
    from .metrics import check_table

    table = config.get("metrics")
    return check_table(table) if isinstance(table, Mapping) else []


def check_config(
    source: str | Path | Mapping[str, Any], plugins: PluginManager | None = None
) -> list[str]:
    """Every error in a config, as messages; empty when the bot can start.

    It never creates or changes a database; see :func:`check` for the warnings and notes too.
    """
    return check(source, plugins).errors
