"""Classifying WhatsApp Cloud API failures, like Messenger's (``..errors``).

The Cloud API answers with Graph's error envelope, plus ``error_data.details`` (kept in the
message: it is the sentence that says what was wrong). Its codes are its own: throughput and
pair rate limits pass if we wait, a closed 24-hour window or an unknown number never do.
"""

from __future__ import annotations

from ..errors import GraphAPIError, error_from_response
from ..redact import Secret

#: 1/2 temporary, 4 app rate limit, 80007 account rate limit, 130429 throughput limit,
#: 131000 "something went wrong", 131016 service unavailable, 131048 spam rate limit,
#: 131056 (business, consumer) pair rate limit, 131057 account in maintenance, 133004 server
#: temporarily unavailable: trying again later may succeed.
TRANSIENT_CODES = frozenset(
    {1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056, 131057, 133004}
)
#: never retried (documentation; any other code on a 4xx is permanent too): invalid
#: parameter (100, 131008, 131009), token (190), permissions (10, 200), policy block (368),
#: recipient cannot be sender (131021), undeliverable (131026), account locked (131031),
#: payment (131042), re-engagement: outside the 24-hour window (131047), unsupported type
#: (131051), phone number not registered (133010), templates (132000-132016).
PERMANENT_CODES = frozenset(
    {10, 100, 190, 200, 368, 131008, 131009, 131021, 131026, 131031, 131042, 131047, 131051}
    | {133010, 132000, 132001, 132005, 132007, 132012, 132015, 132016}
)
#: what an operator must do about these (added to the error message)
ALERTS = {
    190: "the access token is invalid or expired: replace it (a system user token lasts)",
    131031: "the WhatsApp Business account is locked: see WhatsApp Manager",
    133010: "the phone number is not registered with the Cloud API: register it",
    131047: "more than 24 hours since the user's last message: only templates can be sent",
}


def whatsapp_error(
    status: int, retry_after: str | None, body: str, secrets: tuple[Secret, ...] = ()
) -> GraphAPIError:
    """The classified :class:`GraphAPIError` of a failed Cloud API answer."""
    return error_from_response(
        status,
        retry_after,
        body,
        secrets,
        transient_codes=TRANSIENT_CODES,
        alerts=ALERTS,
        api="WhatsApp Cloud API",
    )
