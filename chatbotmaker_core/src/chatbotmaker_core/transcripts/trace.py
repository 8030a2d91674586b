"""Watching a bot's handlers run: which states were entered, which transitions taken, and
which message each handler ran for (the concurrency checks read that)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from ..dispatcher import Dispatcher


@dataclass
class Trace:
    """What the handlers did, in the order they ran (appended under a lock)."""

    #: ``(message id, user id, state, handler name)`` per handler call, in order
    events: list[tuple[str | None, str, str, str]] = field(default_factory=list)
    states: set[str] = field(default_factory=set)
    transitions: set[tuple[str, str]] = field(default_factory=set)
    _leaving: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, user: Any, name: str) -> None:
        state = user.state
        message = getattr(user, "message", None)
        message_id = getattr(message, "message_id", None)
        uid = str(user.fb_id)
        with self._lock:
            self.events.append((message_id, uid, state, name))
            self.states.add(state)
            if name == "post_func":  # change_state: post_func of the source, then pre_func
                self._leaving[uid] = state
            elif name == "pre_func" and uid in self._leaving:
                self.transitions.add((self._leaving.pop(uid), state))
            else:
                self._leaving.pop(uid, None)


class TracingDispatcher(Dispatcher):
    """The same states and handlers as ``inner``; every handler call is recorded in ``trace``.

    It shares ``inner``'s attributes instead of rebuilding it, so the rules are not validated
    (or a flow compiled) again per transcript.
    """

    def __init__(self, inner: Dispatcher, trace: Trace) -> None:  # noqa: D107
        self.__dict__.update(vars(inner))
        self.inner = inner
        self.trace = trace

    def execute_event(self, user: Any, name: str, *args: Any) -> Any:
        self.trace.record(user, name)
        return super().execute_event(user, name, *args)
