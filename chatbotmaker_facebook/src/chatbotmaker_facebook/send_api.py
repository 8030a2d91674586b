"""The Send API client: one HTTP request per call, failures turned into classified errors.

Retrying is core delivery's job (it owns the backoff policy and the failure table), so this
client makes exactly one attempt and says, through :class:`~.errors.GraphAPIError`, whether
another may help. It never lets the token escape: the URL is scrubbed from the exception text
and the exception is raised outside the ``except`` block, so it chains nothing.

It talks to urllib3's connection pool directly rather than through a ``requests.Session``:
per call, requests re-reads the proxy settings from the environment and prepares the request
in several passes, which cost more CPU than the HTTP exchange itself (``docs/performance.md``).
What requests would have read from the environment (proxies, ``REQUESTS_CA_BUNDLE``) is read
once, when the client is made.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3
from urllib3.exceptions import HTTPError, LocationValueError, NewConnectionError, TimeoutError

from chatbotmaker_core.delivery import time_left

from .errors import ErrorParser, GraphAPIError, error_from_response
from .redact import Secret, install_log_filter, scrub

log = logging.getLogger(__name__)

#: connections kept per host: one per serving thread (waitress uses 8 by default)
POOL_SIZE = 32
_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def appsecret_proof(token: str, app_secret: str) -> str:
    """Hex HMAC-SHA256 of the access token keyed with the app secret (Graph's proof)."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def new_pool(url: str) -> urllib3.PoolManager:
    """A pool manager for ``url``: keeps connections, honours the environment's proxy.

    ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` and ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``
    mean what they mean to requests, read once here. urllib3's own retries are off: a retry
    must go through our classification.
    """
    # requests: only when made (its stubs omit certs.where, which it re-exports from certifi)
    from requests.certs import where as default_ca_bundle  # type: ignore[attr-defined]
    from requests.utils import get_environ_proxies

    scheme = urlsplit(url).scheme
    options: dict[str, Any] = {"num_pools": 4, "maxsize": POOL_SIZE, "retries": False}
    if scheme == "https":
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        options.update(cert_reqs="CERT_REQUIRED", ca_certs=bundle or default_ca_bundle())
    proxy = get_environ_proxies(url).get(scheme)
    if proxy:
        return urllib3.ProxyManager(proxy, **options)
    return urllib3.PoolManager(**options)


class SendApi:
    """``POST {graph_url}/{api_version}/me/messages?access_token=…[&appsecret_proof=…]``.

    ``path`` is the Graph edge (``me/messages`` for Messenger and Instagram,
    ``<phone_number_id>/messages`` for WhatsApp, ``me/messenger_profile`` for the profile).
    ``bearer`` sends the token as ``Authorization: Bearer`` (WhatsApp's way) instead of in
    the query string. ``errors`` turns a failed answer into a classified
    :class:`GraphAPIError` (each product has its own codes).
    """

    def __init__(
        self,
        page_access_token: str,
        *,
        app_secret: str | None = None,
        graph_url: str = "https://graph.facebook.com",
        api_version: str = "v25.0",
        timeout: float = 10.0,
        http: urllib3.PoolManager | None = None,
        path: str = "me/messages",
        bearer: bool = False,
        errors: ErrorParser = error_from_response,
    ) -> None:
        install_log_filter()
        self._token = Secret(page_access_token)
        self._app_secret = Secret(app_secret or "")
        self._proof = Secret(appsecret_proof(page_access_token, app_secret) if app_secret else "")
        self.url = f"{graph_url.rstrip('/')}/{api_version.strip('/')}/{path.strip('/')}"
        self.timeout = timeout
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)
        self._errors = errors
        self._headers = dict(_HEADERS)
        params = {} if bearer else {"access_token": page_access_token}
        if bearer:
            self._headers["Authorization"] = f"Bearer {page_access_token}"
        if self._proof:
            params["appsecret_proof"] = self._proof.reveal()
        query = urlencode(params)
        self._signed_url = Secret(f"{self.url}?{query}" if query else self.url)
        self.http = http or new_pool(self.url)
        # Without a proxy, straight to the host's connection pool (and the URL's path): the
        # manager would parse the URL and look the pool up again on every call. Through a
        # proxy, the manager knows how; and a manager passed in may serve other hosts and
        # evict (close) this host's pool.
        self._opener: urllib3.PoolManager | urllib3.HTTPConnectionPool = self.http
        self._target = self._signed_url
        if http is None and type(self.http) is urllib3.PoolManager:
            self._opener = self.http.connection_from_url(self.url)
            path_only = urlsplit(self.url).path
            self._target = Secret(f"{path_only}?{query}" if query else path_only)

    def __repr__(self) -> str:
        return f"SendApi(url={self.url!r}, timeout={self.timeout!r})"

    def post(self, body: dict[str, Any], params: dict[str, str] | None = None) -> dict[str, Any]:
        """Send one request body; the decoded answer, or :class:`GraphAPIError`."""
        return self.request("POST", body, params)

    def get(self, params: dict[str, str] | None = None) -> dict[str, Any]:
        """GET the edge with ``params`` (e.g. ``fields``); the decoded answer."""
        return self.request("GET", None, params)

    def request(
        self, method: str, body: dict[str, Any] | None, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """One request to the edge; the decoded answer, or :class:`GraphAPIError`."""
        failure: GraphAPIError | None = None
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        target = self._target.reveal()
        if params:
            target += ("&" if "?" in target else "?") + urlencode(params)
        timeout = self._attempt_timeout()
        if timeout is None:
            raise GraphAPIError(
                "Send API request not made: the turn's send deadline has passed",
                transient=False,
                code="deadline",
            )
        try:
            response = self._opener.urlopen(
                method,
                target,
                body=data,
                headers=self._headers,
                timeout=timeout,
                retries=False,
                redirect=False,
            )
        except (HTTPError, OSError, ValueError) as error:
            failure = self._request_failed(error, method)
        if failure is not None:
            raise failure  # outside the except block: nothing (with the URL) is chained
        text = response.data.decode("utf-8", "replace")
        if 200 <= response.status < 300:
            try:
                answer = json.loads(text) if text else {}
            except ValueError:
                answer = {}
            return answer if isinstance(answer, dict) else {}
        raise self._errors(
            response.status,
            response.headers.get("Retry-After"),
            text,
            (self._token, self._app_secret, self._proof),
        )

    def _attempt_timeout(self) -> urllib3.Timeout | None:
        """``timeout`` for connect and for read, cut to what is left of the turn's send
        deadline (``chatbotmaker_core.delivery.time_left``) so no attempt outlives it; None
        once it has passed (no request is made then)."""
        left = time_left()
        if left is None or left >= self.timeout:
            return self._timeout
        if left <= 0:
            return None
        return urllib3.Timeout(total=left, connect=left, read=left)  # total: both together

    def _request_failed(self, error: Exception, method: str = "POST") -> GraphAPIError:
        where = f"{method} {self._signed_url.reveal()}"  # which request; credentials masked below
        detail = scrub(f"{type(error).__name__}: {error} ({where})", self._token, self._app_secret)
        # NewConnectionError is a TimeoutError subclass in urllib3, but a refusal is no timeout
        if isinstance(error, TimeoutError) and not isinstance(error, NewConnectionError):
            log.info("Send API request failed (timeout, transient): %s", detail)
            return GraphAPIError(f"Send API unreachable: {detail}", transient=True, code="timeout")
        if isinstance(error, (HTTPError, OSError)) and not isinstance(error, LocationValueError):
            log.info("Send API request failed (connection_error, transient): %s", detail)
            return GraphAPIError(
                f"Send API unreachable: {detail}", transient=True, code="connection_error"
            )
        log.error("Send API request could not be made (permanent): %s", detail)
        return GraphAPIError(
            f"Send API request invalid: {detail}", transient=False, code="request_error"
        )
