"""Loopback networking for tests and benchmarks: everything listens on 127.0.0.1 only."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it).

    Another process may take it before the caller binds it; callers that start a server on it
    retry or fail with the server's own "address in use" message.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
