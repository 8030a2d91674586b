"""The load test's side of the fake Graph API: it starts ``load_bot/graph_server.py`` and
reads what the server received, so that each reply is timed and matched to its event.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterable

from load_bot.processes import PYTHON, Processes, child_env
from load_bot.workload import Event


class GraphApi:
    """The fake Graph API process and the parent's record of what it received."""

    def __init__(self, processes: Processes) -> None:
        self.process = processes.start(
            "graph",
            [PYTHON, "-m", "load_bot.graph_server"],
            child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the fake Graph API did not start:\n" + processes.log_tail("graph"))
        self.url: str = json.loads(line)["url"]
        #: (monotonic time, kind, recipient, text) of every request, in arrival order
        self.records: list[tuple[float, str, str | None, str | None]] = []
        self._cond = threading.Condition()
        self._waiting: dict[tuple[str, str], Event] = {}
        self._pending = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            t, kind, recipient, text = json.loads(line)
            with self._cond:
                self.records.append((t, kind, recipient, text))
                if kind not in ("message", "wa_message"):  # Messenger, WhatsApp
                    continue
                event = self._waiting.pop((recipient, text), None)
                if event is not None:
                    event.replied_at = t
                    self._pending -= 1
                    if self._pending == 0:
                        self._cond.notify_all()

    def expect(self, events: Iterable[Event]) -> None:
        with self._cond:
            for event in events:
                self._waiting[(event.user, event.reply)] = event
                self._pending += 1

    def wait(self, deadline: float) -> bool:
        """Until every expected reply arrived (True) or ``deadline`` passed (False)."""
        with self._cond:
            while self._pending > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return True

    def forget(self) -> None:
        with self._cond:
            self._waiting.clear()
            self._pending = 0

    def mark(self) -> int:
        with self._cond:
            return len(self.records)

    def since(self, mark: int) -> list[tuple[float, str, str | None, str | None]]:
        with self._cond:
            return self.records[mark:]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # it exits when its stdin closes
