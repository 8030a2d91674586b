"""One user's turns, and their replies, one after another within a process.

The database lock keeps two turns of one user from interleaving, but inline mode delivers the
replies after the commit, outside that lock: a second message of the same user could commit
and deliver while the first turn's replies are still being sent, and the user would read the
answers out of order. Holding a per-user lock from the start of the turn to the end of its
delivery keeps them in order (queued mode has the same guarantee from the queue's user locks,
across processes).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class UserLocks:
    """A lock per key, kept only while a thread holds it or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def hold(self, key: str, timeout: float | None) -> Iterator[bool]:
        """Hold ``key``'s lock; yields False when ``timeout`` seconds passed first (the caller
        goes on unordered rather than outlive its deadline)."""
        with self._guard:
            lock, waiting = self._locks.setdefault(key, (threading.Lock(), [0]))
            waiting[0] += 1
        acquired = lock.acquire(timeout=-1 if timeout is None else max(timeout, 0.0))
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()
            with self._guard:
                waiting[0] -= 1
                if waiting[0] == 0:
                    del self._locks[key]
