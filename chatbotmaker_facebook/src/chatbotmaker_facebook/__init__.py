"""chatbotmaker's Facebook Messenger plugin: signed webhooks and a robust Send API client.

``facebook_route`` is imported on first use: it brings in Flask, which plugin discovery and
sending do not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import GraphAPIError
from .messenger import FacebookMessenger
from .parse import PayloadError, parse_payload
from .signature import valid_signature

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
    "PayloadError",
    "facebook_route",
    "parse_payload",
    "valid_signature",
]
