"""Incoming events made storable: what PostgreSQL's ``text`` and ``jsonb`` cannot hold.

A webhook body is JSON that Python decodes without complaint but PostgreSQL refuses, in a
queued job (``jsonb``) as in a text column: ``\\u0000`` in any string, lone UTF-16 surrogates
(``\\ud800`` is a valid JSON escape, not a character, and no UTF-8 text can hold it), and the
non-numbers Python reads (``NaN``, ``Infinity``, ``1e400``). Refusing the whole event would
make Meta redeliver the same body for ever, so :func:`storable_message` repairs what it can:

- in every string, dictionary keys included, each NUL and each lone surrogate becomes U+FFFD
  (the Unicode replacement character), so the handler's ``user_input`` is the repaired text;
- NaN and the infinities become ``None``.

What cannot be repaired raises :class:`UnstorableEvent`, and the webhook skips that event
alone: values nested deeper than :data:`MAX_DEPTH`, integers too long to write as JSON, and
objects that are not JSON at all. ``raw`` (the platform's whole event, a convenience copy) is
set to ``None`` instead of costing the event.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from typing import Any

from .message import Message

log = logging.getLogger(__name__)

#: what every character PostgreSQL cannot store becomes
REPLACEMENT = "\ufffd"
#: the deepest nesting kept; Messenger's own events are 6 levels deep
MAX_DEPTH = 64

_UNSTORABLE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


class UnstorableEvent(ValueError):
    """An event that no database can store as it is: the webhook skips it (and says why)."""


def storable_text(text: str) -> str:
    """``text`` with NUL and lone surrogates replaced by U+FFFD."""
    return _UNSTORABLE_CHARACTERS.sub(REPLACEMENT, text)


def storable(value: Any, depth: int = 0) -> Any:
    """A JSON-storable copy of ``value`` (tuples become lists); see the module docstring.

    Two keys that differ only by unstorable characters become one (the later value wins).
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, int):
        try:
            str(value)
        except ValueError:  # over sys.get_int_max_str_digits(): json cannot write it either
            raise UnstorableEvent(f"an integer of {value.bit_length()} bits") from None
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= MAX_DEPTH:
        raise UnstorableEvent(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {_key(key): storable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(item, depth + 1) for item in value]
    raise UnstorableEvent(f"a {type(value).__name__} is not JSON")


def _key(key: Any) -> Any:
    if isinstance(key, str):
        return storable_text(key)
    if key is None or isinstance(key, (bool, int, float)):  # json writes them as strings
        return storable(key)
    raise UnstorableEvent(f"a {type(key).__name__} key is not JSON")


def storable_message(message: Message) -> Message:
    """``message`` with every field storable, or :class:`UnstorableEvent`."""
    try:
        raw = storable(message.raw)
    except UnstorableEvent as error:
        log.warning(
            "message %s of user %s: its raw event is dropped (%s)",
            message.message_id,
            message.user_id,
            error,
        )
        raw = None
    return dataclasses.replace(
        message,
        user_id=storable_text(message.user_id),
        text=None if message.text is None else storable_text(message.text),
        message_id=None if message.message_id is None else storable_text(message.message_id),
        kind=storable_text(message.kind),
        payload=None if message.payload is None else storable_text(message.payload),
        attachments=tuple(storable(message.attachments)),
        timestamp=storable(message.timestamp),
        raw=raw,
    )


def is_permanent(error: BaseException) -> bool:
    """True when ``error`` comes from the event's data and will recur on every redelivery
    (a database ``DataError``, an unstorable value); False for anything else, which may pass
    (the database restarting, a full connection pool)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (UnstorableEvent, UnicodeError, RecursionError)):
            return True
        if any(klass.__name__ == "DataError" for klass in type(current).__mro__):
            return True  # SQLAlchemy's and the drivers' (SQLSTATE class 22), as installed
        current = current.__cause__ or getattr(current, "orig", None)
    return False


def describe(error: BaseException) -> str:
    """The error's type and the first line of the database's own message: SQLAlchemy's and
    procrastinate's messages quote the statement's parameters, the user's text among them."""
    cause = getattr(error, "orig", None) or error.__cause__ or error
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__
