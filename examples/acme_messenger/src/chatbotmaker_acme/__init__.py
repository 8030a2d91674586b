"""Acme Chat messenger for chatbotmaker: an example third-party messenger plugin."""

from .messenger import AcmeMessenger

__all__ = ["AcmeMessenger"]
