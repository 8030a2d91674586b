"""Reading ``chatbotmaker.toml``: environment interpolation and building the components.

Every problem is reported with the table and key at fault; :func:`check_config` collects all of
them instead of stopping at the first, for ``chatbotmaker check``.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ChatbotmakerError, ConfigError, did_you_mean
from .plugins import PluginManager, get_plugin_manager

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

if TYPE_CHECKING:
    from .bot import Bot

DEFAULT_CONFIG = "chatbotmaker.toml"
#: config table -> plugin kind
COMPONENTS = {"messenger": "messenger", "database": "database", "rules": "rule_source"}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")
#: The folder of the config file last loaded in this context (None: a dict, the current
#: directory): factories resolve relative paths against it (a flow's ``source``).
_FOLDER: ContextVar[Path | None] = ContextVar("chatbotmaker_config_folder", default=None)


def config_folder() -> Path:
    """The folder relative paths of the config being built are resolved against."""
    return _FOLDER.get() or Path.cwd()


def load_config(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """The config as a dict, from a TOML file or a mapping, with ``${VAR}`` expanded."""
    if isinstance(source, Mapping):
        raw: Any = dict(source)
        _FOLDER.set(None)
    else:
        path = Path(source)
        # Rules modules sit beside their config, as Flask finds an app beside its caller.
        folder = str(path.resolve().parent)
        _FOLDER.set(Path(folder))
        if folder not in sys.path:
            sys.path.insert(0, folder)
        try:
            with path.open("rb") as file:
                raw = tomllib.load(file)
        except FileNotFoundError:
            raise ConfigError(
                f"config file {str(path)!r} not found; pass its path or create {DEFAULT_CONFIG}"
            ) from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"config file {str(path)!r} is not valid TOML: {error}") from None
    problems: list[str] = []
    expanded = _expand(raw, "", problems)
    if problems:
        raise ConfigError("; ".join(problems), problems)
    return expanded


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
    if not isinstance(name, str) or not name:
        raise ConfigError(f"[{table}] is missing the key 'name' (which plugin provides it)")
    return name, options


def build_component(
    config: Mapping[str, Any], table: str, plugins: PluginManager | None = None
) -> Any:
    """Build the component of ``[table]`` with the plugin its ``name`` selects."""
    plugins = plugins or get_plugin_manager()
    name, options = component_options(config, table)
    factory = plugins.factory(COMPONENTS[table], name)
    _check_options(factory, table, name, options)
    try:
        return factory(**options)
    except ConfigError as error:
        if str(error).startswith("["):  # already names its table
            raise
        raise ConfigError(f"[{table}] {name}: {error}") from error
    except ChatbotmakerError as error:
        raise ConfigError(f"[{table}] {name}: {error}") from error


def _check_options(factory: Any, table: str, name: str, options: Mapping[str, Any]) -> None:
    """Name an option the factory does not take, with a suggestion, before calling it."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return
    accepted = [p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for key in options:
        if key not in accepted:
            raise ConfigError(
                f"[{table}] unknown option {key!r} for {name!r}{did_you_mean(key, accepted)}"
                f"; accepted: {', '.join(accepted) or 'none'}"
            )


def build_bot(source: str | Path | Mapping[str, Any], plugins: PluginManager | None = None) -> Bot:
    from .bot import Bot

    config = load_config(source)
    bot_options = config.get("bot", {})
    if not isinstance(bot_options, Mapping):
        raise ConfigError(f"[bot] must be a table, got {type(bot_options).__name__}")
    components = {table: build_component(config, table, plugins) for table in COMPONENTS}
    return Bot(bot_options, components["messenger"], components["rules"], components["database"])


def check_config(
    source: str | Path | Mapping[str, Any], plugins: PluginManager | None = None
) -> list[str]:
    """Every problem with a config, as messages; empty when the bot can start."""
    try:
        config = load_config(source)
    except ConfigError as error:
        return error.problems
    problems: list[str] = []
    components: dict[str, Any] = {}
    for table in COMPONENTS:
        try:
            components[table] = build_component(config, table, plugins)
        except ConfigError as error:
            problems.extend(error.problems if len(error.problems) > 1 else [str(error)])
        except Exception as error:  # noqa: BLE001 - check reports, it does not crash
            problems.append(f"[{table}]: {type(error).__name__}: {error}")
    if not problems:
        from .bot import Bot

        try:
            Bot(
                config.get("bot", {}),
                components["messenger"],
                components["rules"],
                components["database"],
            )
        except ConfigError as error:
            problems.extend(error.problems)
    return problems


def import_object(source: str, where: str) -> tuple[Any, Any]:
    """``"package.module:attribute"`` -> ``(module, attribute)``, or a ConfigError."""
    module_name, _, attribute = source.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"{where}: {source!r} must look like 'package.module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - any import failure is reported the same way
        raise ConfigError(
            f"{where}: cannot import module {module_name!r} ({type(error).__name__}: {error}); "
            f"is it on sys.path (run from the bot's folder, or install it)?"
        ) from error
    try:
        return module, getattr(module, attribute)
    except AttributeError:
        raise ConfigError(
            f"{where}: module {module_name!r} has no attribute {attribute!r}"
        ) from None
