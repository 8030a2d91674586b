"""What keeps the studio from being a remote-control for the project's files.

* An access token when the studio listens on anything but the loopback address: given once as
  ``?token=``, it becomes an HttpOnly cookie; scripts may send it as ``X-Studio-Token``.
* State-changing requests (POST, PUT, DELETE) need the page's CSRF token in ``X-CSRF-Token``
  and an ``Origin`` (or ``Referer``) of the studio itself: another site cannot drive it
  through the user's browser.
* On the loopback address the ``Host`` header must name it too (no DNS rebinding).
* Every response carries a strict Content-Security-Policy: scripts and styles from the
  studio's own static files only, no inline code, no network elsewhere.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import Flask, Response, abort, redirect, request
from werkzeug.wrappers import Response as BaseResponse

TOKEN_COOKIE = "studio_token"
TOKEN_HEADER = "X-Studio-Token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def is_loopback(host: str) -> bool:
    return host in LOOPBACK


def install(app: Flask, *, token: str | None, csrf_token: str, loopback: bool) -> None:
    """Register the checks on ``app`` (before every request) and the headers (after)."""

    @app.before_request
    def _check() -> BaseResponse | None:
        if loopback and _host_name(request.host) not in LOOPBACK:
            abort(403, description="the studio answers only to 127.0.0.1 or localhost")
        if token is not None:
            given = request.args.get("token")
            if given is not None and _same(given, token) and request.method == "GET":
                # once in the address, then a cookie: the token leaves the address bar
                response = redirect(request.path)
                response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
                return response
            sent = request.headers.get(TOKEN_HEADER) or request.cookies.get(TOKEN_COOKIE)
            if sent is None or not _same(sent, token):
                abort(401, description="the studio needs its access token: open it with ?token=")
        if request.method in UNSAFE:
            if not _same_origin():
                abort(403, description="cross-site request refused: Origin is not the studio")
            sent = request.headers.get(CSRF_HEADER, "")
            if not _same(sent, csrf_token):
                abort(403, description="missing or wrong CSRF token; reload the page")
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"
        return response


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def _same_origin() -> bool:
    """The request comes from a page of this studio: its Origin, else its Referer, names the
    very scheme, host and port the request was sent to. Neither header: refused."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.scheme}://{request.host}"
