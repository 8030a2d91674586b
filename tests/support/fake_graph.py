"""A real HTTP server on 127.0.0.1 that plays the Graph API's Send API.

It records every request (path, query, JSON body, headers) and answers from a script of
responses (``fail``), then with success. Nothing in ``requests`` is patched: the messenger
talks HTTP to it exactly as it would to graph.facebook.com.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str | None:
        message = self.body.get("message") if isinstance(self.body, dict) else None
        return message.get("text") if isinstance(message, dict) else None


@dataclass
class Scripted:
    status: int
    body: Any
    headers: dict[str, str]
    delay: float = 0.0
    on: str = "message"
    #: accept and answer nothing until released (``FakeGraph.reset``/``stop``) or ``delay``
    hang: bool = False

    def applies_to(self, recorded: Recorded) -> bool:
        if self.on == "any" or not isinstance(recorded.body, dict):
            return True
        return is_message(recorded.body) == (self.on == "message")


def is_message(body: Any) -> bool:
    """A Messenger/Instagram message, or a WhatsApp one (not a read receipt)."""
    if not isinstance(body, dict):
        return False
    if "messaging_product" in body:
        return "status" not in body
    return "message" in body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.do_POST(method="GET")

    def do_POST(self, method: str = "POST") -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        graph = self.server.graph
        answer = graph._answer(Recorded(method, url.path, query, body, dict(self.headers)))
        if answer.hang:
            released = graph._released.wait(answer.delay or None)
            if released or not answer.delay:
                self.close_connection = True  # never answered: the client sees a timeout
                return
        elif answer.delay:
            time.sleep(answer.delay)
        payload = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body)
        data = payload if isinstance(payload, bytes) else payload.encode()
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (a timeout test)
            pass

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    graph: FakeGraph


class FakeGraph:
    """``graph.url`` is the ``graph_url`` to give the messenger; ``graph.requests`` the log."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        #: what a GET of the Messenger Profile answers (under ``data``)
        self.profile: dict[str, Any] = {}
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()  # set: stalled requests give up
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.graph = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGraph:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """Forget the requests and the script (between tests sharing one server)."""
        with self._lock:
            self.requests.clear()
            self.profile = {}
            self._script.clear()
            self._released.set()  # requests still stalled from an earlier test end now
            self._released = threading.Event()

    def fail(
        self,
        status: int,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
        delay: float = 0.0,
        on: str = "message",
    ) -> None:
        """The next ``times`` requests get this answer (then success again).

        ``on`` picks which requests: ``"message"`` (default), ``"action"`` (sender actions)
        or ``"any"``; the others are answered with success meanwhile.
        """
        body = {"error": {"message": "scripted", "code": 1}} if body is None else body
        with self._lock:
            for _ in range(times):
                self._script.append(Scripted(status, body, headers or {}, delay, on))

    def stall(self, seconds: float | None = None, *, times: int = 1, on: str = "message") -> None:
        """The next ``times`` requests are accepted and read, then answered with success only
        after ``seconds`` (never, when None: the connection is closed at ``reset``/``stop``).

        A Graph API that hangs: what the send deadline must survive. ``on`` as in :meth:`fail`.
        """
        with self._lock:
            for _ in range(times):
                self._script.append(Scripted(200, {}, {}, seconds or 0.0, on, hang=True))

    def _answer(self, recorded: Recorded) -> Scripted:
        with self._lock:
            self.requests.append(recorded)
            for scripted in self._script:
                if scripted.applies_to(recorded):
                    self._script.remove(scripted)
                    return scripted
            number = len(self.requests)
        if recorded.method == "GET":
            return Scripted(200, {"data": [self.profile]}, {})
        if recorded.path.endswith("/messenger_profile"):
            return Scripted(200, {"result": "success"}, {})
        if isinstance(recorded.body, dict) and "messaging_product" in recorded.body:
            return Scripted(200, _whatsapp_answer(recorded.body, number), {})
        recipient = recorded.body.get("recipient", {}) if isinstance(recorded.body, dict) else {}
        return Scripted(200, {"recipient_id": recipient.get("id"), "message_id": f"m_{number}"}, {})

    # -- what the tests look at ---------------------------------------------------------

    def messages(self) -> list[Recorded]:
        """Requests that sent a message (not sender actions)."""
        return [r for r in self.requests if isinstance(r.body, dict) and "message" in r.body]

    def texts(self) -> list[str | None]:
        return [r.text for r in self.messages()]

    def replies(self) -> list[tuple[str, str | None]]:
        """``(recipient id, text)`` of every message request, in order."""
        return [(r.body["recipient"]["id"], r.text) for r in self.messages()]

    def actions(self) -> list[str]:
        return [
            r.body["sender_action"]
            for r in self.requests
            if isinstance(r.body, dict) and "sender_action" in r.body
        ]

    # -- WhatsApp Cloud API ---------------------------------------------------------------

    def whatsapp(self) -> list[Recorded]:
        """Cloud API message requests (not read receipts), in order."""
        return [
            r
            for r in self.requests
            if isinstance(r.body, dict) and "messaging_product" in r.body and is_message(r.body)
        ]

    def receipts(self) -> list[str]:
        """The ``message_id`` of every WhatsApp read receipt, in order."""
        return [
            r.body["message_id"]
            for r in self.requests
            if isinstance(r.body, dict) and r.body.get("status") == "read"
        ]


def _whatsapp_answer(body: dict[str, Any], number: int) -> dict[str, Any]:
    """The Cloud API's success: a read receipt's, or a sent message's with its wamid."""
    if body.get("status") == "read":
        return {"success": True}
    to = body.get("to")
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}],
        "messages": [{"id": f"wamid.fake{number}"}],
    }
