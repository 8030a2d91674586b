"""The hook specifications a chatbotmaker plugin implements.

Each hook receives a ``register(name, factory)`` callback. ``factory(**options)`` builds the
component from the options of its config table (everything but ``name``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

_hookspec = pluggy.HookspecMarker("chatbotmaker")
hookimpl = pluggy.HookimplMarker("chatbotmaker")

Register = Callable[[str, Callable[..., Any]], None]


@_hookspec
def register_messengers(register: Register) -> None:
    """Register messenger factories: ``register("facebook", FacebookMessenger)``."""


@_hookspec
def register_databases(register: Register) -> None:
    """Register database factories: ``register("sqlalchemy", factory)``."""


@_hookspec
def register_rule_sources(register: Register) -> None:
    """Register rule sources, factories returning a ``Dispatcher``: ``register("python", f)``."""
