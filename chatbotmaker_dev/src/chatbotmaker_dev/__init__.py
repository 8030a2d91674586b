"""chatbotmaker's development messenger."""

from .messenger import DevMessenger

__all__ = ["DevMessenger"]
