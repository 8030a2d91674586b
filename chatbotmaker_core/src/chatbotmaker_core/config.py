"""Reading ``chatbotmaker.toml``: environment interpolation and building the components.

Every problem is reported with the table and key at fault; ``config_check.check_config``
collects all of them instead of stopping at the first, for ``chatbotmaker check``.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, NamedTuple

from .errors import ChatbotmakerError, ConfigError, did_you_mean, suggest
from .hookspecs import COMPONENT_KINDS
from .plugins import PluginManager, get_plugin_manager

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

log = logging.getLogger(__name__)

DEFAULT_CONFIG = "chatbotmaker.toml"
#: config table -> plugin kind
COMPONENTS = {kind.table: kind.name for kind in COMPONENT_KINDS}
#: every table a config may have; anything else is a typo (``[messanger]``)
TABLES = ("bot", "messenger", "messengers", "database", "rules", "worker", "metrics")
#: a ``[messengers.<name>]`` table's name: a URL segment (``/webhook/<name>``) and a channel
_CHANNEL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")
#: The folder of the config file last loaded in this context (None: a dict, the current
#: directory): factories resolve relative paths against it (a flow's ``source``).
_FOLDER: ContextVar[Path | None] = ContextVar("chatbotmaker_config_folder", default=None)


def config_folder() -> Path:
    """The folder relative paths of the config being built are resolved against."""
    return _FOLDER.get() or Path.cwd()


@contextmanager
def in_config_folder(folder: Path) -> Iterator[None]:
    """Resolve the relative paths of a config given as a dict against ``folder``."""
    token = _FOLDER.set(folder)
    try:
        yield
    finally:
        _FOLDER.reset(token)


def load_config(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """The config as a dict, from a TOML file or a mapping, with ``${VAR}`` expanded."""
    if isinstance(source, Mapping):
        raw: Any = dict(source)
        _FOLDER.set(None)
    else:
        if "\x00" in str(source):
            raise ConfigError(f"config path {str(source)!r} contains a NUL byte; pass a file path")
        path = Path(source)
        # Rules modules sit beside their config, as Flask finds an app beside its caller.
        folder = str(path.resolve().parent)
        _FOLDER.set(Path(folder))
        if folder not in sys.path:
            sys.path.insert(0, folder)
        raw = _read_toml(path)
    problems = table_problems(raw)
    if problems:
        raise ConfigError("; ".join(problems), problems)
    expanded = _expand(raw, "", problems)
    if problems:
        raise ConfigError("; ".join(problems), problems)
    return expanded


def _read_toml(path: Path) -> dict[str, Any]:
    """The parsed file, or a ConfigError saying what is wrong with it and what to do."""
    name = repr(str(path))
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(
            f"config file {name} not found; pass its path or create {DEFAULT_CONFIG}"
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            f"config file {name} is a directory; pass the path of its {DEFAULT_CONFIG}"
        ) from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"config file {name} is not UTF-8 (byte {error.start}: {error.reason}); "
            f"save it as UTF-8, as TOML requires"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {name} is not valid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(
            f"cannot read config file {name}: {error.strerror or error}; check its permissions"
        ) from None


def table_problems(config: Mapping[str, Any]) -> list[str]:
    """A known table given as something else than a table (``bot = 3``), one message each."""
    problems = []
    for table in TABLES:
        value = config.get(table)
        if value is not None and not isinstance(value, Mapping):
            problems.append(
                f"[{table}] must be a table (a [{table}] header followed by key = value lines), "
                f"got {table} = {value!r}"
            )
    return problems


def _expand(value: Any, where: str, problems: list[str]) -> Any:
    if isinstance(value, Mapping):
        return {k: _expand(v, f"{where}.{k}" if where else k, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        problems.append(
            f"{where}: environment variable {name} is not set; export it or write "
            f"${{{name}:-default}}"
        )
        return ""

    return _VAR.sub(substitute, value)


def component_options(config: Mapping[str, Any], table: str) -> tuple[str, dict[str, Any]]:
    """``(name, options)`` of a component table such as ``[messenger]``."""
    section = config.get(table)
    if section is None:
        raise ConfigError(f'missing table [{table}]; add it with at least name = "..."')
    if not isinstance(section, Mapping):
        raise ConfigError(f"[{table}] must be a table, got {type(section).__name__}")
    options = dict(section)
    name = options.pop("name", None)
    if name is None or name == "":
        raise ConfigError(f"[{table}] is missing the key 'name' (which plugin provides it)")
    if not isinstance(name, str):
        raise ConfigError(
            f'[{table}] name must be a string naming a plugin (name = "..."), got {name!r}'
        )
    return name, options


def build_component(
    config: Mapping[str, Any],
    table: str,
    plugins: PluginManager | None = None,
    kind: str | None = None,
) -> Any:
    """Build the component of ``[table]`` with the plugin its ``name`` selects (a plugin of
    ``kind``, by default the table's own: ``messengers.whatsapp`` passes ``"messenger"``)."""
    plugins = plugins or get_plugin_manager()
    name, options = component_options(config, table)
    factory = plugins.factory(kind or COMPONENTS[table], name)
    unknown = unknown_options(factory, table, name, options)
    if unknown:
        raise ConfigError("; ".join(unknown), unknown)
    try:
        return factory(**options)
    except ChatbotmakerError as error:
        problems = getattr(error, "problems", None) or [str(error)]
        named = [p if p.startswith("[") else f"[{table}] {name}: {p}" for p in problems]
        raise ConfigError("; ".join(named), named) from error
    except Exception as error:  # noqa: BLE001 - a plugin's bug is still one line at start-up
        log.debug("the %s plugin %r failed", table, name, exc_info=True)
        raise ConfigError(
            f"[{table}] {name}: the plugin failed ({type(error).__name__}: {error}); "
            f"run with --log-level debug for the traceback"
        ) from error


def unknown_options(factory: Any, table: str, name: str, options: Mapping[str, Any]) -> list[str]:
    """Every option the factory does not take, with a suggestion, before calling it."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return []
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return []
    accepted = [p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [
        f"[{table}] unknown option {key!r} for {name!r}{did_you_mean(key, accepted)}"
        f"; accepted: {', '.join(accepted) or 'none'}"
        for key in options
        if key not in accepted
    ]


class BotParts(NamedTuple):
    """What ``Bot(...)`` takes, in its order: ``Bot(*parts[:4], messengers=parts.messengers)``
    (``bot.build_bot``); ``messengers`` is ``{channel: messenger}``, the default first."""

    config: dict[str, Any]
    messenger: Any
    dispatcher: Any
    database: Any
    messengers: dict[str, Any] | None = None
    #: True for ``[messengers.<name>]`` tables: each served at ``/webhook/<name>``
    channel_urls: bool = False


def messenger_tables(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{channel: options with name}`` of the config's messengers: one ``[messenger]`` (its
    ``name`` is the channel) or several ``[messengers.<channel>]`` (``name`` defaults to the
    table's). Both forms at once, or none, is a ConfigError."""
    single, several = config.get("messenger"), config.get("messengers")
    if single is not None and several is not None:
        raise ConfigError(
            "[messenger] and [messengers.<name>] tables are both given; keep one form: a "
            "single [messenger] (served at /webhook) or [messengers.<name>] tables (served "
            "at /webhook/<name>)"
        )
    if several is None:
        name, options = component_options(config, "messenger")
        return {name: {"name": name, **options}}
    if not several or not all(isinstance(t, Mapping) for t in several.values()):
        raise ConfigError(
            "[messengers] must hold one table per messenger ([messengers.facebook], "
            "[messengers.whatsapp]...), each with that messenger's options"
        )
    tables = {}
    for channel, table in several.items():
        if not _CHANNEL_NAME.fullmatch(channel):
            raise ConfigError(
                f"[messengers.{channel}]: a messenger table's name is its URL (/webhook/"
                f"<name>) and channel: use letters, digits, '-' or '_' (at most 64)"
            )
        name = table.get("name", channel)
        tables[channel] = {**table, "name": name}
    return tables


def build_parts(
    source: str | Path | Mapping[str, Any],
    plugins: PluginManager | None = None,
    *,
    messenger: Any = None,
) -> BotParts:
    """The parts of the bot a config describes; ``messenger``, if given, replaces its
    ``[messenger]``. The ``Bot`` is made by :func:`chatbotmaker_core.bot.build_bot`: this
    module comes before the bot in the import graph."""
    config = load_config(source)
    unknown = unknown_tables(config)
    if unknown:
        raise ConfigError("; ".join(unknown), unknown)
    tables = messenger_tables(config)
    messengers = {
        channel: messenger
        if messenger is not None
        else build_component(
            {label(config, channel): options}, label(config, channel), plugins, "messenger"
        )
        for channel, options in tables.items()
    }
    components = {
        table: build_component(config, table, plugins)
        for table in COMPONENTS
        if table != "messenger"
    }
    return BotParts(
        config.get("bot", {}),
        next(iter(messengers.values())),
        components["rules"],
        components["database"],
        messengers,
        "messengers" in config,
    )


def label(config: Mapping[str, Any], channel: str) -> str:
    """How errors name a messenger's table: ``messenger`` or ``messengers.<channel>``."""
    return "messenger" if "messengers" not in config else f"messengers.{channel}"


def unknown_tables(config: Mapping[str, Any]) -> list[str]:
    """A table or top-level key no part of chatbotmaker reads: a typo, or a key above its
    table (TOML puts every key after ``[rules]`` into ``[rules]``, but one before any header
    at the top)."""
    problems = []
    for key, value in config.items():
        if key in TABLES:
            continue
        if isinstance(value, Mapping):
            hint = suggest(key, TABLES)
            problems.append(
                f"unknown table [{key}]"
                + (f" (did you mean [{hint}]?)" if hint else "")
                + f"; known tables: {', '.join(TABLES)}"
            )
        else:
            problems.append(
                f"unknown top-level key {key!r}{did_you_mean(key, TABLES)}: every option "
                f"belongs in a table ({', '.join(TABLES)}); move it under its [table] header"
            )
    return problems


def import_object(source: str, where: str) -> tuple[Any, Any]:
    """``"package.module:attribute"`` -> ``(module, attribute)``, or a ConfigError."""
    if not isinstance(source, str):
        raise ConfigError(
            f"{where} must be a string like 'package.module:attribute', got {source!r}"
        )
    module_name, _, attribute = source.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"{where}: {source!r} must look like 'package.module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except BaseException as error:  # noqa: BLE001 - sys.exit() or Ctrl-C in its code too
        missing = getattr(error, "name", None) if isinstance(error, ImportError) else None
        if missing and (module_name + ".").startswith(missing + "."):
            raise ConfigError(
                f"{where}: cannot import module {module_name!r} ({error}); is it on sys.path "
                f"(run from the bot's folder, or install it)?"
            ) from None
        # A module that exits or raises while imported must not end or crash the command.
        raise ConfigError(
            f"{where}: importing module {module_name!r} raised {type(error).__name__}"
            f"{f': {error}' if str(error) else ''}; fix the module's top-level code "
            f"(only definitions should run at import)"
        ) from error
    try:
        return module, getattr(module, attribute)
    except AttributeError:
        raise ConfigError(
            f"{where}: module {module_name!r} has no attribute {attribute!r}"
        ) from None
