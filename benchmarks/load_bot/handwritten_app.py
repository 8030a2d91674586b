"""The hand-written contender: the load bot's webhook written by hand, no framework.

    gunicorn 'load_bot.handwritten_app:app'     # with benchmarks/ on sys.path

A plain WSGI function served by the same gunicorn command as chatbotmaker's inline scenarios,
doing the same work per request with nothing in between: check ``X-Hub-Signature-256`` (HMAC
SHA-256 of the raw body with the app secret, compared in constant time), parse the JSON, and
for each text message of ``entry[].messaging[]`` run the turn's statements in one transaction
on the raw driver (``handwritten_db.py``), commit, then send the reply to the Send API on one
keep-alive ``http.client`` connection per gunicorn worker: ``POST /v25.0/me/messages`` with the
access token and its ``appsecret_proof`` in the query, the body chatbotmaker's Facebook
messenger sends. The load test checks it as it checks chatbotmaker (the counters, the handled
ids, every reply once and in order), so the two do the same work; the ratio of their
throughputs is what the framework costs.

Configured by the environment: ``FACEBOOK_APP_SECRET``, ``FACEBOOK_PAGE_TOKEN`` (as the inline
scenarios' config reads them), ``HANDWRITTEN_DATABASE_URL`` (``postgresql+psycopg://...`` or
``sqlite:///path``) and ``HANDWRITTEN_GRAPH_URL`` (the Graph API stand-in).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode, urlsplit

from load_bot.handwritten_db import PgStore, SqliteStore, open_store

log = logging.getLogger("handwritten")
logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")  # to the worker's log

SECRET = os.environ["FACEBOOK_APP_SECRET"].encode()
TOKEN = os.environ["FACEBOOK_PAGE_TOKEN"]
DATABASE_URL = os.environ["HANDWRITTEN_DATABASE_URL"]
GRAPH = urlsplit(os.environ["HANDWRITTEN_GRAPH_URL"])
PROOF = hmac.new(SECRET, TOKEN.encode(), hashlib.sha256).hexdigest()
SEND_PATH = "/v25.0/me/messages?" + urlencode({"access_token": TOKEN, "appsecret_proof": PROOF})
SEND_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}

#: the database and Send API connections of a gunicorn worker (each imports this module after
#: the fork), opened on first use; per thread, should gunicorn run threads (``--threads``)
_local = threading.local()

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
    if path == "/healthz":
        return _answer(start_response, "200 OK", b'{"status": "ok"}', "application/json")
    if path != "/webhook" or method != "POST":
        return _answer(start_response, "404 Not Found", b"not found")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    header = environ.get("HTTP_X_HUB_SIGNATURE_256", "")
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), header.strip().lower().encode()):
        return _answer(start_response, "403 Forbidden", b"invalid signature")
    try:
        messages = _messages(json.loads(body))
    except (ValueError, TypeError, KeyError, AttributeError):  # JSON or shape
        return _answer(start_response, "400 Bad Request", b"malformed body")
    store: PgStore | SqliteStore | None = getattr(_local, "store", None)
    if store is None:
        store = _local.store = open_store(DATABASE_URL)
    for user_id, message_id, text in messages:
        try:
            replies = store.turn(user_id, message_id, text)
        except Exception:  # noqa: BLE001 - Meta redelivers after a 5xx; the claim was undone
            log.exception("turn failed for message %s", message_id)
            return _answer(start_response, "500 Internal Server Error", b"turn failed")
        for reply in replies:
            _send(user_id, reply)
    return _answer(start_response, "200 OK", b"EVENT_RECEIVED")


def _messages(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(sender id, message id, text)`` of every text message, in order (echoes skipped)."""
    if payload["object"] != "page":
        return []
    found = []
    for entry in payload["entry"]:
        for event in entry.get("messaging", ()):
            message = event.get("message")
            if not message or message.get("is_echo") or "text" not in message:
                continue
            found.append((str(event["sender"]["id"]), message["mid"], message["text"]))
    return found


def _send(user_id: str, text: str) -> None:
    """One Send API call on this worker's keep-alive connection (reopened once if the
    server closed it); a failure is logged, as a delivery failure would be recorded."""
    data = json.dumps(
        {"recipient": {"id": user_id}, "messaging_type": "RESPONSE", "message": {"text": text}},
        separators=(",", ":"),
    ).encode()
    for attempt in (1, 2):
        graph: http.client.HTTPConnection | None = getattr(_local, "graph", None)
        if graph is None:
            graph = _local.graph = http.client.HTTPConnection(
                GRAPH.hostname, GRAPH.port, timeout=10
            )
        try:
            graph.request("POST", SEND_PATH, body=data, headers=SEND_HEADERS)
            response = graph.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            graph.close()
            _local.graph = None
            if attempt == 2:
                log.error("Send API unreachable: reply to %s not sent", user_id)
            continue
        if response.status != 200:
            log.error("Send API answered %s: reply to %s not sent", response.status, user_id)
        return


def _answer(
    start_response: StartResponse, status: str, body: bytes, kind: str = "text/plain"
) -> list[bytes]:
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]
