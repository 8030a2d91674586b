"""Finding plugins and the components they register.

Entry points of the group ``chatbotmaker`` are loaded one by one: a plugin that fails to import
is recorded and skipped so that one broken distribution never takes the others down.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginConflictError, UnknownPluginError

if sys.version_info >= (3, 12):
    from importlib.metadata import entry_points
else:  # the backport has the selectable API and dist attribute on 3.10/3.11
    from importlib_metadata import entry_points

log = logging.getLogger(__name__)

GROUP = "chatbotmaker"
#: component kind -> the hook that registers it
KINDS = {
    "messenger": "register_messengers",
    "database": "register_databases",
    "rule_source": "register_rule_sources",
}


@dataclass
class PluginInfo:
    """One plugin: where it came from, what it registered, or why it failed to load."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    registers: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None

    @property
    def label(self) -> str:
        return self.distribution or self.name

    def as_dict(self) -> dict[str, Any]:
        return {
            "entry_point": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "registers": self.registers,
            "error": self.error,
        }


class PluginManager:
    """A small wrapper over ``pluggy.PluginManager`` that knows our component kinds."""

    def __init__(self) -> None:
        self._pm = pluggy.PluginManager(GROUP)
        self._pm.add_hookspecs(hookspecs)
        self.plugins: list[PluginInfo] = []
        self._info_by_plugin: dict[int, PluginInfo] = {}
        self._components: dict[str, dict[str, tuple[Callable[..., Any], PluginInfo]]] | None = None
        self._conflicts: dict[tuple[str, str], str] = {}

    def load_entry_points(self) -> None:
        """Load every installed entry point of the group, recording failures."""
        for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            info = PluginInfo(
                name=ep.name,
                module=ep.value,
                distribution=dist.metadata["Name"] if dist is not None else None,
                version=dist.version if dist is not None else None,
            )
            try:
                obj = ep.load()
            except Exception as exc:  # noqa: BLE001 - any import failure is recorded
                info.error = f"{type(exc).__name__}: {exc}"
                log.warning("plugin %s (%s) failed to load: %s", ep.name, info.label, info.error)
                self.plugins.append(info)
                continue
            try:
                self.add(obj, info)
            except Exception as exc:  # noqa: BLE001 - e.g. a hook with a wrong signature
                info.error = f"{type(exc).__name__}: {exc}"
                log.warning("plugin %s (%s) is invalid: %s", ep.name, info.label, info.error)
                self.plugins.append(info)

    def add(self, obj: object, info: PluginInfo) -> None:
        """Register an object holding hook implementations."""
        self._pm.register(obj, name=f"{info.name}:{id(obj)}")
        self.plugins.append(info)
        self._info_by_plugin[id(obj)] = info
        self._components = None

    def remove(self, obj: object) -> None:
        self._pm.unregister(obj)
        info = self._info_by_plugin.pop(id(obj))
        self.plugins.remove(info)
        self._components = None

    @property
    def failed(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.error]

    def components(self, kind: str) -> dict[str, tuple[Callable[..., Any], PluginInfo]]:
        """``{name: (factory, plugin)}`` for one kind of component; a name that two plugins
        register is left out (see :attr:`conflicts`)."""
        if self._components is None:
            self._components = self._collect()
        return self._components[kind]

    @property
    def conflicts(self) -> list[str]:
        """One message per component name registered by more than one plugin.

        Each clash is one entry whatever the kinds of component: it makes only that name
        unusable (:meth:`factory` raises :class:`PluginConflictError` for it), so a bot using
        other names still starts, and ``chatbotmaker plugins`` reports it once.
        """
        self.components("messenger")
        return list(self._conflicts.values())

    def _collect(self) -> dict[str, dict[str, tuple[Callable[..., Any], PluginInfo]]]:
        found: dict[str, dict[str, tuple[Callable[..., Any], PluginInfo]]] = {k: {} for k in KINDS}
        owners: dict[tuple[str, str], list[str]] = {}
        impls = {kind: getattr(self._pm.hook, hook).get_hookimpls() for kind, hook in KINDS.items()}
        for info in self.plugins:
            info.registers = {}
        for plugin_id, info in self._info_by_plugin.items():
            staged = self._call_hooks(plugin_id, info, impls)
            for kind, names in staged.items():
                for name, factory in names.items():
                    owners.setdefault((kind, name), []).append(info.label)
                    found[kind].setdefault(name, (factory, info))
                    info.registers.setdefault(kind, []).append(name)
        self._conflicts = {}
        for (kind, name), labels in owners.items():
            if len(labels) > 1:
                del found[kind][name]
                self._conflicts[(kind, name)] = _conflict_message(kind, name, labels)
        return found

    @staticmethod
    def _call_hooks(
        plugin_id: int, info: PluginInfo, impls: dict[str, list[Any]]
    ) -> dict[str, dict[str, Callable[..., Any]]]:
        """What one plugin registers; nothing at all if one of its hooks raises."""
        staged: dict[str, dict[str, Callable[..., Any]]] = {}
        if info.error:
            return staged
        for kind, kind_impls in impls.items():
            for impl in kind_impls:
                if id(impl.plugin) != plugin_id:
                    continue
                names = staged.setdefault(kind, {})
                try:
                    impl.function(
                        register=lambda name, factory, _n=names: _n.update({name: factory})
                    )
                except Exception as exc:  # noqa: BLE001 - a broken hook only disables its plugin
                    info.error = f"{type(exc).__name__} in {KINDS[kind]}: {exc}"
                    log.warning("plugin %s failed in %s: %s", info.label, KINDS[kind], exc)
                    return {}
        return staged

    def factory(self, kind: str, name: str) -> Callable[..., Any]:
        """The factory registered for ``name``, or :class:`UnknownPluginError`."""
        components = self.components(kind)
        if (kind, name) in self._conflicts:
            raise PluginConflictError(self._conflicts[(kind, name)])
        if name not in components:
            failed = [f"{p.name} ({p.error})" for p in self.failed]
            raise UnknownPluginError(kind, name, components, failed)
        return components[name][0]


def _conflict_message(kind: str, name: str, labels: list[str]) -> str:
    if len(labels) == 2:
        return (
            f"{kind} {name!r} is registered by two plugins: {labels[0]} and {labels[1]}; "
            f"uninstall one of them"
        )
    return (
        f"{kind} {name!r} is registered by {len(labels)} plugins: {', '.join(labels)}; "
        f"uninstall all but one of them"
    )


_default: PluginManager | None = None
_lock = threading.Lock()


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, loading entry points on first use."""
    global _default
    with _lock:
        if _default is None:
            manager = PluginManager()
            manager.load_entry_points()
            _default = manager
        return _default


def reset_plugin_manager() -> None:
    """Forget loaded plugins, so the next lookup scans entry points again."""
    global _default
    with _lock:
        _default = None
