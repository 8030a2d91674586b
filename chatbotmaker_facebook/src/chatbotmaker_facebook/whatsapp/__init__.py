"""WhatsApp Cloud API: ``WhatsAppMessenger`` (``messenger.py``), its webhook parser
(``parse.py``), its request bodies (``render.py``) and its error codes (``errors.py``)."""

from __future__ import annotations

from .messenger import WhatsAppMessenger

__all__ = ["WhatsAppMessenger"]
