"""chatbotmaker: state-machine chat bots for messaging platforms.

``Bot``, ``Database``, ``add_relationship``, ``models_for`` and ``TurnResult`` are imported on
first use (PEP 562): they bring in SQLAlchemy, which commands such as ``chatbotmaker --help``
and plugins importing ``hookimpl`` do not need (docs/performance.md, start-up); so is
``MAX_BODY_BYTES``, the webhook body limit, which brings in Flask.

What a plugin needs is here: ``hookimpl``, the typed ``register`` callbacks of the hooks
(``RegisterMessenger``, ``RegisterDatabase``, ``RegisterRuleSource``, ``RegisterCommand``, and
``Register`` for any component), the component base classes and the body limit.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .dispatcher import Dispatcher
from .errors import (
    ChatbotmakerError,
    ConfigError,
    DeliveryError,
    PluginConflictError,
    UnknownPluginError,
    UnknownStateError,
)
from .hookspecs import (
    Register,
    RegisterCommand,
    RegisterDatabase,
    RegisterMessenger,
    RegisterRuleSource,
    hookimpl,
)
from .message import Button, Message, QuickReply, Reply
from .messenger import Messenger, NullMessenger

if TYPE_CHECKING:
    from .bot import Bot, TurnResult
    from .database import Database, add_relationship
    from .database.models import models_for
    from .web import MAX_BODY_BYTES

#: the names imported on first use, and the module each comes from
_LAZY = {
    "Bot": ".bot",
    "TurnResult": ".bot",
    "Database": ".database",
    "add_relationship": ".database",
    "models_for": ".database.models",
    "MAX_BODY_BYTES": ".web",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Bot",
    "Button",
    "ChatbotmakerError",
    "ConfigError",
    "Database",
    "DeliveryError",
    "Dispatcher",
    "MAX_BODY_BYTES",
    "Message",
    "Messenger",
    "NullMessenger",
    "PluginConflictError",
    "QuickReply",
    "Register",
    "RegisterCommand",
    "RegisterDatabase",
    "RegisterMessenger",
    "RegisterRuleSource",
    "Reply",
    "TurnResult",
    "UnknownPluginError",
    "UnknownStateError",
    "add_relationship",
    "hookimpl",
    "models_for",
]
