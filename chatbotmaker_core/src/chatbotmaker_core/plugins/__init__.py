"""The plugin system: ``manager`` finds plugins and what they register, ``builtin`` holds the
core's own components, ``records`` what is known of each plugin.

``chatbotmaker_core.plugins.get_plugin_manager()`` is the process-wide manager.
"""

from __future__ import annotations

from .manager import (
    BUILTIN_PLUGINS,
    GROUP,
    HOOKS,
    KINDS,
    PluginManager,
    get_plugin_manager,
    reset_plugin_manager,
)
from .records import CORE_DISTRIBUTION, DISABLED_VARIABLE, PluginInfo

__all__ = [
    "BUILTIN_PLUGINS",
    "CORE_DISTRIBUTION",
    "DISABLED_VARIABLE",
    "GROUP",
    "HOOKS",
    "KINDS",
    "PluginInfo",
    "PluginManager",
    "get_plugin_manager",
    "reset_plugin_manager",
]
