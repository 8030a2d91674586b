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


class UserLocks:
    """A lock per key, kept only while a thread holds it or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    def hold(self, key: str, timeout: float | None) -> _Held:
        """Hold ``key``'s lock: ``with locks.hold(key, timeout) as in_order``; ``in_order``
        is False when ``timeout`` seconds passed first (the caller goes on unordered rather
        than outlive its deadline)."""
        return _Held(self, key, timeout)


class _Held:
    """One hold of a key's lock (a class: entered on every turn, cheaper than a generator)."""

    __slots__ = ("_locks", "_key", "_timeout", "_entry", "_acquired")

    def __init__(self, locks: UserLocks, key: str, timeout: float | None) -> None:
        self._locks, self._key, self._timeout = locks, key, timeout

    def __enter__(self) -> bool:
        locks = self._locks
        with locks._guard:
            entry = locks._locks.get(self._key)
            if entry is None:
                entry = locks._locks[self._key] = (threading.Lock(), [0])
            entry[1][0] += 1
        self._entry = entry
        timeout = self._timeout
        self._acquired = entry[0].acquire(timeout=-1 if timeout is None else max(timeout, 0.0))
        return self._acquired

    def __exit__(self, *exc_info: object) -> None:
        lock, waiting = self._entry
        if self._acquired:
            lock.release()
        locks = self._locks
        with locks._guard:
            waiting[0] -= 1
            if waiting[0] == 0:
                del locks._locks[self._key]
