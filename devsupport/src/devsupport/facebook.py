"""What Meta adds to a webhook request, for tests and load generators that play Meta."""

from __future__ import annotations

import hashlib
import hmac


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` header value of ``body``: HMAC-SHA256 with the app secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
