"""Finding plugins and the components and commands they register.

The core's own components are registered in-process (as tox's internal plugins and llm's
default plugins), so they exist without installed metadata. Entry points of the group
``chatbotmaker`` are then loaded one by one: a plugin that fails to import, implements a hook
that does not exist, or has a hook that raises is recorded and skipped, so that one broken
distribution never takes the others down.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any, cast

import pluggy

from .. import hookspecs
from ..errors import PluginConflictError, UnknownPluginError, did_you_mean
from ..hookspecs import (
    COMMAND,
    COMMAND_HOOK,
    COMPONENT_KINDS,
    PROJECT,
    Command,
    ConfigureCommand,
    RunCommand,
)
from .records import (
    CORE_DISTRIBUTION,
    DISABLED_VARIABLE,
    PluginInfo,
    conflict_message,
    disabled_plugins,
)

if sys.version_info >= (3, 12):
    from importlib.metadata import PackageNotFoundError, entry_points, version
else:  # the backport has the selectable API and dist attribute on 3.10/3.11
    from importlib_metadata import PackageNotFoundError, entry_points, version

log = logging.getLogger(__name__)

GROUP = PROJECT
#: the core's own plugins, registered in-process: (name in listings, module)
BUILTIN_PLUGINS = (("core", "chatbotmaker_core.plugins.builtin"),)
#: component kind -> the hook that registers it
KINDS = {kind.name: kind.hook for kind in COMPONENT_KINDS}
#: everything a plugin registers (components and commands) -> its hook
HOOKS = {**KINDS, COMMAND: COMMAND_HOOK}

Registered = dict[str, tuple[Any, PluginInfo]]


class PluginManager:
    """A small wrapper over ``pluggy.PluginManager`` that knows our component kinds.

    A new manager is empty; :func:`get_plugin_manager` fills the process-wide one with the
    built-in plugins and the installed entry points.
    """

    def __init__(self) -> None:
        self._pm = pluggy.PluginManager(GROUP)
        self._pm.add_hookspecs(hookspecs)
        self.plugins: list[PluginInfo] = []
        self._info_by_plugin: dict[int, PluginInfo] = {}
        self._registered: dict[str, Registered] | None = None
        self._conflicts: dict[tuple[str, str], str] = {}

    def load_builtin_plugins(self) -> None:
        """Register chatbotmaker-core's own components (database ``sqlalchemy``, rule sources
        ``python`` and ``flow``): no entry point, no installed metadata needed."""
        try:
            core_version: str | None = version(CORE_DISTRIBUTION)
        except PackageNotFoundError:  # a source checkout on sys.path, not installed
            core_version = None
        for name, module in BUILTIN_PLUGINS:
            info = PluginInfo(name, module, CORE_DISTRIBUTION, core_version)
            self.add(importlib.import_module(module), info)

    def load_entry_points(self) -> None:
        """Load every installed entry point of the group, recording failures; those named in
        ``CHATBOTMAKER_DISABLED_PLUGINS`` are listed as disabled and not imported."""
        disabled = disabled_plugins()
        seen = set()
        for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            info = PluginInfo(
                name=ep.name,
                module=ep.value,
                distribution=dist.metadata["Name"] if dist is not None else None,
                version=dist.version if dist is not None else None,
            )
            if info.builtin:  # registered in-process; older core metadata still lists it
                continue
            seen.add(ep.name)
            if ep.name in disabled:
                info.disabled = True
                self.plugins.append(info)
                continue
            try:
                obj = ep.load()
            except Exception as exc:  # noqa: BLE001 - any import failure is recorded
                self._record_failure(info, f"{type(exc).__name__}: {exc}")
                self.plugins.append(info)
                continue
            self.add(obj, info)
        for name in sorted(disabled - seen):
            log.warning(
                "%s names %r, which is no installed plugin; installed: %s",
                DISABLED_VARIABLE,
                name,
                ", ".join(sorted(seen)) or "none",
            )

    def add(self, obj: object, info: PluginInfo) -> PluginInfo:
        """Register an object holding hook implementations.

        An invalid one (a hook with a wrong signature, or one that is no chatbotmaker hook) is
        recorded in ``info.error``, not raised, exactly as when its entry point is loaded.
        """
        self.plugins.append(info)
        self._info_by_plugin[id(obj)] = info
        self._registered = None
        try:
            self._pm.register(obj, name=f"{info.name}:{id(obj)}")
        except Exception as exc:  # noqa: BLE001 - e.g. pluggy's PluginValidationError
            self._record_failure(info, f"{type(exc).__name__}: {exc}")
            return info
        try:
            self._pm.check_pending()
        except pluggy.PluginValidationError:
            # Only this plugin can fail: every one before it passed the same check.
            self._record_failure(info, self._unknown_hooks(obj))
            self._pm.unregister(obj)
        return info

    def _unknown_hooks(self, obj: object) -> str:
        known = sorted(HOOKS.values())
        unknown = [
            f"{caller.name!r}{did_you_mean(caller.name, known)}"
            for caller in self._pm.get_hookcallers(obj) or []
            if not caller.has_spec()
        ]
        s = "s" if len(unknown) > 1 else ""
        return f"unknown hook{s} {', '.join(unknown)}; the hooks are {', '.join(known)}"

    def remove(self, obj: object) -> None:
        if self._pm.is_registered(obj):
            self._pm.unregister(obj)
        info = self._info_by_plugin.pop(id(obj))
        self.plugins.remove(info)
        self._registered = None

    def fail(self, info: PluginInfo, error: str) -> None:
        """Record that a plugin failed after loading (a command it adds cannot be built): it
        registers nothing from now on, as when one of its hooks raises."""
        self._record_failure(info, error)
        self._registered = None

    @staticmethod
    def _record_failure(info: PluginInfo, error: str) -> None:
        info.error = error
        log.warning("plugin %s (%s) failed to load: %s", info.name, info.label, error)

    @property
    def failed(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.error]

    @property
    def disabled(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.disabled]

    def components(self, kind: str) -> dict[str, tuple[Callable[..., Any], PluginInfo]]:
        """``{name: (factory, plugin)}`` for one kind of component; a name that two plugins
        register is left out (see :attr:`conflicts`)."""
        if self._registered is None:
            self._registered = self._collect()
        return self._registered[kind]

    def commands(self) -> dict[str, tuple[Command, PluginInfo]]:
        """``{name: (command, plugin)}``: the commands plugins add, conflicts left out."""
        return cast(dict[str, tuple[Command, PluginInfo]], self.components(COMMAND))

    @property
    def conflicts(self) -> list[str]:
        """One message per name registered by more than one plugin.

        Each clash is one entry whatever the kind: it makes only that name unusable
        (:meth:`factory` raises :class:`PluginConflictError` for it), so a bot using other
        names still starts, and ``chatbotmaker plugins`` reports it once.
        """
        self.components(COMMAND)
        return list(self._conflicts.values())

    def _collect(self) -> dict[str, Registered]:
        found: dict[str, Registered] = {kind: {} for kind in HOOKS}
        owners: dict[tuple[str, str], list[PluginInfo]] = {}
        impls = {kind: getattr(self._pm.hook, hook).get_hookimpls() for kind, hook in HOOKS.items()}
        for info in self.plugins:
            info.registers = {}
        for plugin_id, info in self._info_by_plugin.items():
            for kind, names in self._call_hooks(plugin_id, info, impls).items():
                for name, value in names.items():
                    owners.setdefault((kind, name), []).append(info)
                    found[kind].setdefault(name, (value, info))
                    info.registers.setdefault(kind, []).append(name)
        self._conflicts = {}
        for (kind, name), infos in owners.items():
            if len(infos) > 1:
                del found[kind][name]
                self._conflicts[(kind, name)] = conflict_message(kind, name, infos)
        return found

    @staticmethod
    def _call_hooks(
        plugin_id: int, info: PluginInfo, impls: dict[str, list[Any]]
    ) -> dict[str, dict[str, Any]]:
        """What one plugin registers; nothing at all if one of its hooks raises."""
        staged: dict[str, dict[str, Any]] = {}
        if info.error:
            return staged
        for kind, kind_impls in impls.items():
            for impl in kind_impls:
                if id(impl.plugin) != plugin_id:
                    continue
                names = staged.setdefault(kind, {})
                try:
                    impl.function(register=_recorder(kind, names))
                except Exception as exc:  # noqa: BLE001 - a broken hook only disables its plugin
                    info.error = f"{type(exc).__name__} in {HOOKS[kind]}: {exc}"
                    log.warning("plugin %s failed in %s: %s", info.label, HOOKS[kind], exc)
                    return {}
        return staged

    def factory(self, kind: str, name: str) -> Callable[..., Any]:
        """The factory registered for ``name``, or :class:`UnknownPluginError`."""
        components = self.components(kind)
        if (kind, name) in self._conflicts:
            raise PluginConflictError(self._conflicts[(kind, name)])
        if name not in components:
            failed = [f"{p.name} ({p.error})" for p in self.failed]
            disabled = [f"{p.name} ({DISABLED_VARIABLE})" for p in self.disabled]
            raise UnknownPluginError(kind, name, components, failed, disabled)
        return components[name][0]


def _recorder(kind: str, names: dict[str, Any]) -> Callable[..., None]:
    """The ``register`` callback a hook of ``kind`` gets, storing into ``names``."""
    if kind == COMMAND:

        def register_command(
            name: str, run: RunCommand, help: str = "", configure: ConfigureCommand | None = None
        ) -> None:
            names[name] = Command(name, run, help, configure)

        return register_command

    def register(name: str, factory: Callable[..., Any]) -> None:
        names[name] = factory

    return register


_default: PluginManager | None = None
_lock = threading.Lock()


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager: the built-in plugins and the installed entry points,
    loaded on first use."""
    global _default
    with _lock:
        if _default is None:
            manager = PluginManager()
            manager.load_builtin_plugins()
            manager.load_entry_points()
            _default = manager
        return _default


def reset_plugin_manager() -> None:
    """Forget loaded plugins, so the next lookup scans entry points again."""
    global _default
    with _lock:
        _default = None
