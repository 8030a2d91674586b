"""Argument values: JSON that comes back exactly as stored, on SQLite as on PostgreSQL.

PostgreSQL's ``json`` keeps the text it is given, so every number comes back as it went in.
SQLite gives a column declared ``JSON`` NUMERIC affinity: the text ``1000000000000000000000``
is turned into the REAL ``1e21`` and ``1.0`` into the INTEGER ``1`` on the way in. On SQLite a
top-level number is therefore bound as itself when SQLite stores it exactly (an int that fits
in 64 bits, a float with a fractional part: INTEGER and REAL, as before), and otherwise as the
JSON text in a BLOB, which no affinity converts. Lists, dicts, strings, booleans and null are
JSON text, as before; existing databases need no change.

NaN and Infinity are not JSON: PostgreSQL refuses them and SQLite would store them as text, so
:func:`check_argument` refuses them, naming the argument, before anything is written.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

from ..errors import ChatbotmakerError

#: argument names are stored in a ``String(255)`` column
MAX_NAME_LENGTH = 255
_INT64 = range(-(2**63), 2**63)


class InvalidArgumentError(ChatbotmakerError, ValueError):
    """``store_argument`` was given a name or value the database cannot store exactly."""


def check_argument(name: str, value: Any) -> None:
    """Raise :class:`InvalidArgumentError` for an over-long name or a NaN/Infinity inside
    ``value``, naming the argument and where in the value the number is."""
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgumentError(
            f"argument name of {len(name)} characters ({name[:20] + '...'!r}): names are "
            f"stored in a column of {MAX_NAME_LENGTH} characters; use a shorter name"
        )
    if type(value) in (str, int, bool) or value is None:
        return  # the common case, nothing to walk
    where = _non_finite(value, "")
    if where is not None:
        raise InvalidArgumentError(
            f"argument {name!r}: {where} is not a JSON number (NaN and Infinity cannot be "
            f"stored); store it as a string, e.g. str(value)"
        )


def _non_finite(value: Any, path: str) -> str | None:
    """``"nan at [1]['k']"`` for the first NaN or infinity inside ``value``, else None."""
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        return f"{value!r} at {path}" if path else repr(value)
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _non_finite(item, f"{path}[{key!r}]")
        if found is not None:
            return found
    return None


class _SQLiteJSON(UserDefinedType[Any]):
    """SQLite's side of :class:`ArgumentValue`: still declared ``JSON``, bound as above."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "JSON"

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any]:
        return encode_sqlite

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any]:
        return decode_sqlite


def encode_sqlite(value: Any) -> Any:
    kind = type(value)
    if kind is int:
        return value if value in _INT64 else json.dumps(value).encode()
    if kind is float:
        return json.dumps(value).encode() if value.is_integer() else value
    return json.dumps(value)


def decode_sqlite(value: Any) -> Any:
    if value is None or type(value) in (int, float):
        return value
    return json.loads(value)


class ArgumentValue(TypeDecorator[Any]):
    """The ``arguments.value`` column: ``JSON`` everywhere, exact numbers on SQLite too."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return _SQLiteJSON()
        return dialect.type_descriptor(JSON())
