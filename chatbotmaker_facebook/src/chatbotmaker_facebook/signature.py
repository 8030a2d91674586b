"""Checking what Meta sends: the webhook signature and the verify token, in constant time.

Apart from the Flask views (``webhook.py``) so the messenger can use them without importing
Flask: plugin discovery imports every messenger plugin, and Flask would be most of its time.
"""

from __future__ import annotations

import hashlib
import hmac


def valid_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    """Whether ``header`` is ``sha256=<hex HMAC-SHA256 of body keyed with app_secret>``.

    The raw bytes are hashed as received (re-serialised JSON would differ), and compared in
    constant time. Anything malformed is simply not valid.
    """
    if not header or not app_secret:
        return False
    scheme, _, digest = header.strip().partition("=")
    if scheme.strip().lower() != "sha256" or not digest:
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, digest.strip().lower().encode("utf-8", "replace"))


def tokens_match(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison of a verify token; False when either is missing."""
    if not given or not expected:
        return False
    return hmac.compare_digest(
        hashlib.sha256(given.encode("utf-8", "replace")).digest(),
        hashlib.sha256(expected.encode("utf-8", "replace")).digest(),
    )
