"""Keeping the page access token and the app secret out of logs, exceptions and reprs.

The Send API takes the token in the query string, so every URL we build holds it; requests puts
that URL in its exception messages and urllib3 logs it at DEBUG. Rather than trusting every code
path to be careful, secrets live in :class:`Secret` (whose repr shows nothing), exception text
goes through :func:`scrub`, and a log filter on urllib3's logger masks query-string credentials.
"""

from __future__ import annotations

import logging
import re

MASK = "***"

#: credentials Graph accepts in a query string
_QUERY_CREDENTIAL = re.compile(
    r"((?:access_token|appsecret_proof|client_secret)(?:=|%3D))[^&\s'\"#<>]+", re.IGNORECASE
)

#: loggers that write request URLs (urllib3 logs ``"POST /v25.0/me/messages?access_token=…"``)
_URL_LOGGERS = ("urllib3.connectionpool", "requests")


class Secret:
    """A string that does not show itself: ``repr`` and ``str`` are masked.

    Tracebacks with locals, debuggers and ``repr(messenger)`` then never print the token;
    :meth:`reveal` is the one explicit way to get the value, used where it is sent.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__


def scrub(text: str, *secrets: Secret | str | None) -> str:
    """``text`` with query-string credentials and every given secret replaced by ``***``."""
    text = _QUERY_CREDENTIAL.sub(lambda match: match.group(1) + MASK, text)
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if value:
            text = text.replace(value, MASK)
    return text


class CredentialFilter(logging.Filter):
    """Masks ``access_token=…`` and ``appsecret_proof=…`` in the records of a logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logging's problem, not ours
            return True
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = CredentialFilter()


def install_log_filter() -> None:
    """Attach the credential filter to the loggers that print request URLs (idempotent)."""
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
