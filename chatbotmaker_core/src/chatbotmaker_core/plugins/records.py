"""What the plugin manager knows of each plugin, and the messages it reports about them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

#: comma-separated entry-point names that are not loaded (as tox's TOX_DISABLED_EXTERNAL_PLUGINS)
DISABLED_VARIABLE = "CHATBOTMAKER_DISABLED_PLUGINS"
#: the distribution whose components are built in (registered in-process, not by entry point)
CORE_DISTRIBUTION = "chatbotmaker-core"


@dataclass
class PluginInfo:
    """One plugin: where it came from, what it registered, or why it failed to load.

    ``disabled`` plugins were named in ``CHATBOTMAKER_DISABLED_PLUGINS``: listed, never imported.
    """

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    registers: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None
    disabled: bool = False

    @property
    def label(self) -> str:
        return self.distribution or self.name

    @property
    def builtin(self) -> bool:
        return self.distribution == CORE_DISTRIBUTION

    def as_dict(self) -> dict[str, Any]:
        return {
            "entry_point": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "registers": self.registers,
            "error": self.error,
            "disabled": self.disabled,
        }


def disabled_plugins() -> set[str]:
    """The entry-point names ``CHATBOTMAKER_DISABLED_PLUGINS`` lists (read at each load)."""
    value = os.environ.get(DISABLED_VARIABLE, "")
    return {name.strip() for name in value.split(",") if name.strip()}


def conflict_message(kind: str, name: str, owners: list[PluginInfo]) -> str:
    """One line naming every distribution that registers ``name``, and what fixes it.

    The core's own component cannot be uninstalled: the fix then points at the others.
    """
    owners = sorted(owners, key=lambda info: not info.builtin)
    labels = [info.label for info in owners]
    if len(labels) == 2:
        head = f"{kind} {name!r} is registered by two plugins: {labels[0]} and {labels[1]}"
    else:
        head = f"{kind} {name!r} is registered by {len(labels)} plugins: {', '.join(labels)}"
    others = [info for info in owners if not info.builtin]
    if len(others) < len(owners):
        entry_points = ",".join(info.name for info in others)
        return (
            f"{head}; {name!r} is built into {CORE_DISTRIBUTION}: uninstall "
            f"{' and '.join(info.label for info in others)} or set "
            f"{DISABLED_VARIABLE}={entry_points}"
        )
    if len(labels) == 2:
        return f"{head}; uninstall one of them or name it in {DISABLED_VARIABLE}"
    return f"{head}; uninstall all but one of them or name the others in {DISABLED_VARIABLE}"
