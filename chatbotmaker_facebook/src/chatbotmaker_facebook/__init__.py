"""chatbotmaker's Facebook Messenger plugin: signed webhooks and a robust Send API client."""

from .errors import GraphAPIError
from .messenger import FacebookMessenger
from .parse import PayloadError, parse_payload
from .webhook import facebook_route, valid_signature

__all__ = [
    "FacebookMessenger",
    "GraphAPIError",
    "PayloadError",
    "facebook_route",
    "parse_payload",
    "valid_signature",
]
