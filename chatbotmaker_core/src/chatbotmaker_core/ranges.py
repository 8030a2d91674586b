"""Allowed ranges of numeric options, shared by ``[bot]`` and ``[worker]``.

A value of the right type can still make the bot useless without any error:
``send_attempts = 0`` drops every reply, ``concurrency = 0`` runs no job. Each such option
declares its range here, and a value outside it is refused at start-up and by ``check``
with the table, key, value and range in one line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Range:
    """``low <= value`` (``low < value`` when ``exclusive``), and finite."""

    low: float
    exclusive: bool = False
    why: str = ""

    def describe(self) -> str:
        return f"{'>' if self.exclusive else '>='} {self.low:g}"

    def problem(self, table: str, key: str, value: Any) -> str | None:
        """The message for a number outside the range, ``None`` when it is inside."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None  # the type check reports it
        inside = math.isfinite(value) and (
            value > self.low if self.exclusive else value >= self.low
        )
        if inside:
            return None
        why = f" ({self.why})" if self.why else ""
        finite = "" if isinstance(value, int) else "a finite number "
        return (
            f"[{table}] {key} = {value!r} is out of range: "
            f"it must be {finite}{self.describe()}{why}"
        )
