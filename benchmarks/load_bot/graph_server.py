"""The load test's Graph API: a minimal Send API stand-in, in a process of its own.

    python -m load_bot.graph_server        # with benchmarks/ on sys.path

Prints ``{"url": "http://127.0.0.1:PORT"}`` once listening, then one JSON line per request it
receives: ``[monotonic time, kind, recipient id, text]``, where kind is ``"message"`` (text is
the message's text), ``"action"`` (text is the sender action) or ``"other"``. Lines are
written in arrival order. ``time.monotonic()`` is the system-wide ``CLOCK_MONOTONIC`` on Linux,
so the parent compares it with its own clock. Exits when its stdin closes (the parent ended,
however it ended).

A process of its own so that answering the Send API and timing the replies does not share a
GIL with the load test's client threads. And as cheap as it can be: the real Graph API does not
run on the benchmark's CPUs, so every millisecond of CPU spent here is one the bot under test
does not get. Hence no ``http.server`` (a thread and an email-header parser per request): one
thread polling every socket (epoll, or poll off Linux), HTTP/1.1 keep-alive parsed by hand from
each connection's receive buffer, and one stdout write per round of the loop with the lines of
all the requests of that round (timed when the round's poll returned), made before their answers
go out so that the parent has them first.

What it speaks: ``POST .../messages`` with a ``Content-Length`` (or chunked) body gets ``200``
and a Send API answer, ``{"recipient_id": ..., "message_id": "m_<n>"}``; a JSON body
``{"recipient": {"id": ...}, "message": {"text": ...}}`` is a message, one with
``"sender_action"`` an action, anything else (not JSON either) other. WhatsApp's bodies
(``{"to": ..., "text": {"body": ...}}``, ``{"status": "read"}``) are read alike; a request to any
path but ``/me/messages`` (WhatsApp's ``/{phone_number_id}/messages``) has its kind prefixed
``wa_``. Any other request gets a ``404`` (and an ``"other"`` line). Pipelined requests are
answered in order.
"""

from __future__ import annotations

import json
import os
import select
import socket
import threading
import time
from json.encoder import encode_basestring_ascii
from typing import Any

#: the listen backlog: every gunicorn and queue worker opens its connections at once
BACKLOG = 512
#: bytes asked of one ``recv``
READ_SIZE = 65536
#: a request head larger than this, without its blank line yet: not a client of ours
MAX_HEAD = 65536

_IN = select.POLLIN  # the same bits as EPOLLIN / EPOLLOUT
_OUT = select.POLLOUT

_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
_SENT = b'{"recipient_id": %s, "message_id": "m_%d"}'
_NOT_FOUND = (
    b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
)
_NOT_FOUND_BODY = b'{"error": {"message": "Unknown path", "code": 100}}'
_BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_CLOSE = b"Connection: close\r\n"


class _BadRequest(Exception):
    pass


class _Connection:
    __slots__ = ("sock", "fd", "buf", "out", "closing")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.buf = b""  # received, not yet a whole request
        self.out = b""  # answers the socket did not take yet
        self.closing = False  # close once ``out`` is sent


def classify(body: bytes) -> tuple[str, Any, Any]:
    """``(kind, recipient id, text)`` of a Send API request body."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return "other", None, None
    if not isinstance(data, dict):
        return "other", None, None
    recipient = data.get("recipient")
    recipient_id = recipient.get("id") if isinstance(recipient, dict) else data.get("to")
    if data.get("messaging_product") == "whatsapp":  # {"to": ..., "text": {"body": ...}}
        if data.get("type") == "text" and isinstance(data.get("text"), dict):
            return "message", recipient_id, data["text"].get("body")
        if "status" in data:
            return "action", recipient_id, data["status"]
    if "message" in data:
        message = data["message"]
        return "message", recipient_id, message.get("text") if isinstance(message, dict) else None
    if "sender_action" in data:
        return "action", recipient_id, data["sender_action"]
    return "other", recipient_id, None


def _json(value: Any) -> str:
    """``json.dumps(value)``, a few times faster for the strings it mostly gets."""
    return encode_basestring_ascii(value) if value.__class__ is str else json.dumps(value)


def _header(lower_head: bytes, name: bytes) -> bytes | None:
    """The value of header ``name`` (given as ``b"\\r\\nname:"``) in the lower-cased head."""
    start = lower_head.find(name)
    if start < 0:
        return None
    start += len(name)
    end = lower_head.find(b"\r\n", start)
    return lower_head[start:] if end < 0 else lower_head[start:end]


def _dechunk(buf: bytes, pos: int) -> tuple[bytes, int] | None:
    """The chunked body starting at ``pos`` and where it ends; None until it is all here."""
    parts = []
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        try:
            size = int(buf[pos:eol].split(b";", 1)[0], 16)
        except ValueError:
            raise _BadRequest from None
        if size < 0:
            raise _BadRequest
        pos = eol + 2
        if size == 0:
            while True:  # trailer fields, up to a blank line
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return None
                if eol == pos:
                    return b"".join(parts), eol + 2
                pos = eol + 2
        if len(buf) < pos + size + 2:
            return None
        parts.append(buf[pos : pos + size])
        pos += size + 2


class GraphServer:
    """Listens on 127.0.0.1; ``serve_forever`` answers requests until stdin closes."""

    def __init__(self, out_fd: int = 1, stdin_fd: int | None = 0) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=BACKLOG)
        self.listener.setblocking(False)
        self._poller: Any = select.epoll() if hasattr(select, "epoll") else select.poll()
        self._listen_fd = self.listener.fileno()
        self._poller.register(self._listen_fd, _IN)
        self._connections: dict[int, _Connection] = {}
        self._out_fd = out_fd
        self._lines: list[str] = []  # stdout lines of this loop iteration
        self._answers: list[tuple[_Connection, bytes]] = []  # and its answers, sent after them
        self._count = 0
        self._stdin_fd = -1
        if stdin_fd is not None:
            try:
                self._poller.register(stdin_fd, _IN)
                self._stdin_fd = stdin_fd
            except OSError:  # a regular file or /dev/null: epoll refuses those
                threading.Thread(target=self._wait_stdin, args=(stdin_fd,), daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def _wait_stdin(self, fd: int) -> None:
        while os.read(fd, 65536):
            pass
        os._exit(0)  # without the lines not written yet: the loop's thread may be writing

    def _exit(self) -> None:
        self._flush()
        os._exit(0)  # no graceful shutdown: the parent is gone or done

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._out_fd, view) :]

    def _flush(self) -> None:
        if self._lines:
            data = "".join(self._lines).encode()
            self._lines.clear()  # the same list: serve_forever holds it
            try:
                self.write(data)
            except BrokenPipeError:  # the parent is gone: so are we
                os._exit(0)

    def serve_forever(self) -> None:
        poll = self._poller.poll
        monotonic = time.monotonic
        connections = self._connections
        listen_fd = self._listen_fd
        lines = self._lines
        answers = self._answers
        send = self._send
        while True:
            events = poll()
            now = monotonic()  # when these requests reached us (give or take one poll)
            for fd, mask in events:
                conn = connections.get(fd)
                if conn is not None:
                    if mask != _OUT:  # readable, or hung up / in error: recv tells
                        self._on_read(conn, now)
                    if mask & _OUT and conn.out:
                        send(conn, b"")
                elif fd == listen_fd:
                    self._accept()
                elif fd == self._stdin_fd and not os.read(fd, 65536):
                    self._exit()
            if lines:  # one write for all the requests of this round, before their answers
                self._flush()  # so that the parent reads them before the clients go on
            if answers:
                for conn, data in answers:
                    send(conn, data)
                answers.clear()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:  # none left (BlockingIOError), out of descriptors, reset meanwhile
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(sock)
            self._connections[conn.fd] = conn
            self._poller.register(conn.fd, _IN)

    def _close(self, conn: _Connection) -> None:
        if self._connections.get(conn.fd) is conn:  # not closed already
            del self._connections[conn.fd]
            self._poller.unregister(conn.fd)
            conn.sock.close()
        conn.closing = True
        conn.buf = conn.out = b""

    def _on_read(self, conn: _Connection, now: float) -> None:
        try:
            data = conn.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(conn)
            return
        if not data:
            self._close(conn)
            return
        if conn.closing:
            return  # past a "Connection: close": nothing more is read
        buf = conn.buf + data if conn.buf else data
        answers = []
        pos = 0
        try:
            while True:
                end = buf.find(b"\r\n\r\n", pos)
                if end < 0:
                    if len(buf) - pos > MAX_HEAD:
                        raise _BadRequest
                    break
                answer, pos = self._request(conn, buf, pos, end, now)
                if answer is None:  # the body is not all here yet
                    break
                answers.append(answer)
                if conn.closing:
                    break
        except _BadRequest:
            answers.append(_BAD)
            conn.closing = True
        conn.buf = b"" if conn.closing else buf[pos:]
        if answers:
            self._answers.append((conn, answers[0] if len(answers) == 1 else b"".join(answers)))

    def _request(
        self, conn: _Connection, buf: bytes, pos: int, end: int, now: float
    ) -> tuple[bytes | None, int]:
        """The answer to the request whose head is ``buf[pos:end]``, and where the next starts."""
        head = buf[pos:end]
        line_end = head.find(b"\r\n")
        try:
            method, target, version = (head if line_end < 0 else head[:line_end]).split(b" ", 2)
        except ValueError:
            raise _BadRequest from None
        lower = head.lower()
        start = end + 4
        if b"\r\ntransfer-encoding:" in lower and b"chunked" in (
            _header(lower, b"\r\ntransfer-encoding:") or b""
        ):
            chunked = _dechunk(buf, start)
            if chunked is None:
                return None, pos
            body, after = chunked
        else:
            length = _header(lower, b"\r\ncontent-length:")
            try:
                size = int(length) if length is not None else 0
            except ValueError:
                raise _BadRequest from None
            if size < 0:
                raise _BadRequest
            after = start + size
            if len(buf) < after:
                return None, pos
            body = buf[start:after]
        if version == b"HTTP/1.0":
            connection = _header(lower, b"\r\nconnection:")
            conn.closing = connection is None or b"keep-alive" not in connection
        elif b"\r\nconnection:" in lower:
            conn.closing = b"close" in (_header(lower, b"\r\nconnection:") or b"")
        extra = _CLOSE if conn.closing else b""
        if method == b"POST" and target.split(b"?", 1)[0].endswith(b"/messages"):
            kind, recipient, text = classify(body)
            if not target.split(b"?", 1)[0].endswith(b"/me/messages"):
                kind = "wa_" + kind  # WhatsApp's /{phone_number_id}/messages (channels.py)
            self._count += 1
            payload = _SENT % (_json(recipient).encode(), self._count)
            answer = _OK % (len(payload), extra) + payload
        else:
            kind, recipient, text = "other", None, None
            answer = _NOT_FOUND % (len(_NOT_FOUND_BODY), extra) + _NOT_FOUND_BODY
        self._lines.append(f'[{now!r}, "{kind}", {_json(recipient)}, {_json(text)}]\n')
        return answer, after

    def _send(self, conn: _Connection, data: bytes) -> None:
        had_out = bool(conn.out)
        pending = conn.out + data if had_out else data
        try:
            sent = conn.sock.send(pending)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._close(conn)
            return
        conn.out = pending[sent:]
        if conn.out:
            if not had_out:
                self._poller.modify(conn.fd, _IN | _OUT)
        elif conn.closing:
            self._close(conn)
        elif had_out:
            self._poller.modify(conn.fd, _IN)


def main() -> None:
    server = GraphServer()
    server.write((json.dumps({"url": server.url}) + "\n").encode())
    server.serve_forever()


if __name__ == "__main__":
    main()
