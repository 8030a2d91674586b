"""The load test's Graph API: ``tests/facebook/fake_graph.py`` in a process of its own.

    python -m load_bot.graph_server        # with benchmarks/ on sys.path

Prints ``{"url": "http://127.0.0.1:PORT"}`` once listening, then one JSON line per request it
receives: ``[monotonic time, kind, recipient id, text]``, where kind is ``"message"`` (text is
the message's text), ``"action"`` (text is the sender action) or ``"other"``. Lines are
written in arrival order. ``time.monotonic()`` is the system-wide ``CLOCK_MONOTONIC`` on Linux,
so the parent compares it with its own clock. Exits when its stdin closes (the parent ended,
however it ended).

A process of its own so that answering the Send API and timing the replies does not share a
GIL with the load test's client threads.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

TESTS_FACEBOOK = Path(__file__).resolve().parents[2] / "tests" / "facebook"
if str(TESTS_FACEBOOK) not in sys.path:
    sys.path.insert(0, str(TESTS_FACEBOOK))

import fake_graph  # noqa: E402 - found through the path set just above

#: the listen backlog: every gunicorn and queue worker opens its connections at once
BACKLOG = 512


class StreamingGraph(fake_graph.FakeGraph):
    """A FakeGraph that also writes one line per request to ``out``, as it arrives."""

    def __init__(self, out: IO[str]) -> None:
        fake_graph._Server.request_queue_size = BACKLOG  # read when the socket listens
        super().__init__()
        self._out = out
        self._out_lock = threading.Lock()

    def _answer(self, recorded: fake_graph.Recorded) -> fake_graph.Scripted:
        body: Any = recorded.body if isinstance(recorded.body, dict) else {}
        recipient = body.get("recipient", {}).get("id") if isinstance(body, dict) else None
        if "message" in body:
            kind, text = "message", recorded.text
        elif "sender_action" in body:
            kind, text = "action", body["sender_action"]
        else:
            kind, text = "other", None
        with self._out_lock:
            line = json.dumps([time.monotonic(), kind, recipient, text])
            self._out.write(line + "\n")
            self._out.flush()
        answer = super()._answer(recorded)
        with self._lock:
            self.requests.clear()  # the parent keeps the log; do not grow for nothing
        return answer


def main() -> None:
    graph = StreamingGraph(sys.stdout).start()
    sys.stdout.write(json.dumps({"url": graph.url}) + "\n")
    sys.stdout.flush()
    sys.stdin.read()  # until the parent closes our stdin, or dies
    os._exit(0)  # no graceful shutdown: handler threads may be mid-request


if __name__ == "__main__":
    main()
