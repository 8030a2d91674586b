"""Classifying Send API failures: what core delivery may retry and what it must not.

Graph reports failures as ``{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}``. The code decides, not the HTTP status alone: a rate limit (613) is a 400 that
passes if we wait, while a 500 that carries code 100 will fail the same way every time.
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from chatbotmaker_core import DeliveryError

from .redact import Secret, scrub

#: temporary errors (1 unknown, 2 service), rate limits (4 app, 17 user, 32 page, 613 custom)
#: and 1200 (temporary send failure): trying again later may succeed.
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 613, 1200})
#: never retried: invalid parameter or no such user (100), outside the messaging window (10),
#: invalid token (190), permissions (200), person unavailable (551), blocked or policy (230,
#: 368, 10303). Any other code on a 4xx is permanent too; this set documents the known ones.
PERMANENT_CODES = frozenset({10, 100, 190, 200, 230, 368, 551, 10303})
#: permanent errors an operator must act on at once, with what to do
ALERTS = {190: "the page access token is invalid or expired: replace it"}
ALERT_CODES = frozenset(ALERTS)

#: longest Graph error message kept in exceptions and logs (a proxy may answer with a web page)
_MAX_MESSAGE = 300


class GraphAPIError(DeliveryError):
    """The Send API refused or failed a request.

    ``code`` is Graph's error code (or ``"connection_error"``/``"timeout"``), ``subcode`` its
    ``error_subcode``, ``fbtrace_id`` the id Meta support asks for, ``status`` the HTTP status.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        retry_after: float | None = None,
        code: int | str | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
        status: int | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message, transient=transient, retry_after=retry_after, code=code)
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        self.status = status
        self.error_type = error_type


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _error_info(body: str) -> Mapping[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    info = document.get("error") if isinstance(document, dict) else None
    return info if isinstance(info, dict) else {}


def _details(info: Mapping[str, Any]) -> str | None:
    """WhatsApp's ``error_data.details``: the sentence that says what was wrong."""
    data = info.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    return details if isinstance(details, str) and details else None


def is_transient(
    status: int, code: int | None, transient_codes: frozenset[int] = TRANSIENT_CODES
) -> bool:
    """Whether a failed request may pass later: by Graph code first, then by HTTP status."""
    if code in transient_codes:
        return True
    if code is not None:
        return False
    return status >= 500 or status == 429


def error_from_response(
    status: int,
    retry_after: str | None,
    body: str,
    secrets: tuple[Secret, ...] = (),
    *,
    transient_codes: frozenset[int] = TRANSIENT_CODES,
    alerts: Mapping[int, str] | None = None,
    api: str = "Send API",
) -> GraphAPIError:
    """The :class:`GraphAPIError` for a non-2xx Send API answer, with its details.

    Not logged here: core delivery logs a retry, or the failure once where it gives up.

    ``secrets`` are masked in the message kept: an answer may quote the request back.
    """
    info = _error_info(body)
    code = _as_int(info.get("code"))
    subcode = _as_int(info.get("error_subcode"))
    trace = info.get("fbtrace_id")
    trace = trace if isinstance(trace, str) else None
    error_type = info.get("type") if isinstance(info.get("type"), str) else None
    text = info.get("message")
    if not isinstance(text, str):
        text = body.strip().replace("\n", " ") or "no error message"
    text = scrub(text, *secrets)[:_MAX_MESSAGE]
    details = _details(info)
    if details and details not in text:
        text = f"{text} ({scrub(details, *secrets)[:_MAX_MESSAGE]})"
    transient = is_transient(status, code, transient_codes)
    message = (
        f"{api} error HTTP {status}, code {code}, subcode {subcode}, fbtrace_id {trace}: {text}"
    )
    alerts = ALERTS if alerts is None else alerts
    if code is not None and code in alerts:
        message += f" ({alerts[code]})"
    error = GraphAPIError(
        message,
        transient=transient,
        retry_after=parse_retry_after(retry_after) if transient else None,
        code=code if code is not None else f"http_{status}",
        subcode=subcode,
        fbtrace_id=trace,
        status=status,
        error_type=error_type,
    )
    return error


#: how a client turns a failed answer into an error: ``(status, Retry-After, body, secrets)``
ErrorParser = Callable[..., GraphAPIError]
