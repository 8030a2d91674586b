"""chatbotmaker's plugin for Meta's messaging products: Messenger (``FacebookMessenger``),
Instagram (``InstagramMessenger``) and the WhatsApp Cloud API (``WhatsAppMessenger``).

``facebook_route`` is imported on first use: it brings in Flask, which plugin discovery and
sending do not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import GraphAPIError
from .instagram import InstagramMessenger
from .messenger import FacebookMessenger
from .meta import MetaMessenger
from .parse import PayloadError, parse_payload
from .signature import valid_signature
from .whatsapp import WhatsAppMessenger

if TYPE_CHECKING:
    from .webhook import facebook_route


def __getattr__(name: str) -> Any:
    if name == "facebook_route":
        from .webhook import facebook_route

        globals()[name] = facebook_route
        return facebook_route
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FacebookMessenger",
    "GraphAPIError",
    "InstagramMessenger",
    "MetaMessenger",
    "PayloadError",
    "facebook_route",
    "parse_payload",
    "WhatsAppMessenger",
    "valid_signature",
]
