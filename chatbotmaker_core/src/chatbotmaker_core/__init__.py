"""chatbotmaker: state-machine chat bots for messaging platforms."""

from __future__ import annotations

from .bot import Bot, TurnResult
from .database import Database, add_relationship
from .database.models import models_for
from .dispatcher import Dispatcher
from .errors import (
    ChatbotmakerError,
    ConfigError,
    DeliveryError,
    PluginConflictError,
    UnknownPluginError,
    UnknownStateError,
)
from .hookspecs import hookimpl
from .message import Button, Message, QuickReply, Reply
from .messenger import Messenger, NullMessenger

__all__ = [
    "Bot",
    "Button",
    "ChatbotmakerError",
    "ConfigError",
    "Database",
    "DeliveryError",
    "Dispatcher",
    "Message",
    "Messenger",
    "NullMessenger",
    "PluginConflictError",
    "QuickReply",
    "Reply",
    "TurnResult",
    "UnknownPluginError",
    "UnknownStateError",
    "add_relationship",
    "hookimpl",
    "models_for",
]
