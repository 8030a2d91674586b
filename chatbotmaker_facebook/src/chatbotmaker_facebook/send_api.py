"""The Send API client: one HTTP request per call, failures turned into classified errors.

Retrying is the core outbox's job (it owns the backoff policy and the failure table), so this
client makes exactly one attempt and says, through :class:`~.errors.GraphAPIError`, whether
another may help. It never lets the token escape: the URL is scrubbed from requests' exception
text and the exception is raised outside the ``except`` block, so it chains nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .errors import GraphAPIError, error_from_response
from .redact import Secret, install_log_filter, scrub

log = logging.getLogger(__name__)

#: connections kept per host: one per serving thread (waitress uses 8 by default)
POOL_SIZE = 32
#: exceptions after which the request may not have reached Meta, or whose answer was lost
_TRANSIENT_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def appsecret_proof(token: str, app_secret: str) -> str:
    """Hex HMAC-SHA256 of the access token keyed with the app secret (Graph's proof)."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def new_session() -> requests.Session:
    """A session that reuses connections, with a pool sized for a threaded server.

    urllib3's own retries are off: a retry must go through our classification.
    """
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class SendApi:
    """``POST {graph_url}/{api_version}/me/messages?access_token=…[&appsecret_proof=…]``."""

    def __init__(
        self,
        page_access_token: str,
        *,
        app_secret: str | None = None,
        graph_url: str = "https://graph.facebook.com",
        api_version: str = "v25.0",
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        install_log_filter()
        self._token = Secret(page_access_token)
        self._app_secret = Secret(app_secret or "")
        self._proof = Secret(appsecret_proof(page_access_token, app_secret) if app_secret else "")
        self.url = f"{graph_url.rstrip('/')}/{api_version.strip('/')}/me/messages"
        self.timeout = timeout
        self.session = session or new_session()

    def __repr__(self) -> str:
        return f"SendApi(url={self.url!r}, timeout={self.timeout!r})"

    def _params(self) -> dict[str, str]:
        params = {"access_token": self._token.reveal()}
        if self._proof:
            params["appsecret_proof"] = self._proof.reveal()
        return params

    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send one request body; the decoded answer, or :class:`GraphAPIError`."""
        failure: GraphAPIError | None = None
        try:
            response = self.session.post(
                self.url, params=self._params(), json=body, timeout=self.timeout
            )
        except requests.RequestException as error:
            failure = self._request_failed(error)
        if failure is not None:
            raise failure  # outside the except block: nothing (with the URL) is chained
        if 200 <= response.status_code < 300:
            try:
                answer = response.json()
            except ValueError:
                answer = {}
            return answer if isinstance(answer, dict) else {}
        raise error_from_response(
            response.status_code,
            response.headers.get("Retry-After"),
            response.text,
            (self._token, self._app_secret, self._proof),
        )

    def _request_failed(self, error: requests.RequestException) -> GraphAPIError:
        detail = scrub(f"{type(error).__name__}: {error}", self._token, self._app_secret)
        if isinstance(error, _TRANSIENT_EXCEPTIONS):
            timeout = isinstance(error, requests.Timeout)
            code = "timeout" if timeout else "connection_error"
            log.info("Send API request failed (%s, transient): %s", code, detail)
            return GraphAPIError(f"Send API unreachable: {detail}", transient=True, code=code)
        log.error("Send API request could not be made (permanent): %s", detail)
        return GraphAPIError(
            f"Send API request invalid: {detail}", transient=False, code="request_error"
        )
