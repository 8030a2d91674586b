"""A bot's state machine as data: what ``graph`` draws and ``check`` inspects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Transition:
    """An arrow: ``target`` is ``None`` when it cannot be known statically (``dynamic``)."""

    source: str
    target: str | None
    label: str | None
    where: str | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "label": self.label}


@dataclass(frozen=True)
class ShadowedRoute:
    """A route that can never run: a catch-all route comes before it."""

    state: str
    route: int  # 1-based
    catch_all: int  # 1-based
    where: str | None = None


@dataclass
class Graph:
    """The states, the start and every transition found, in the order they were written."""

    kind: str  # "flow" or "python"
    start: str
    states: list[str]
    transitions: list[Transition]
    ends: set[str] = field(default_factory=set)
    shadowed: list[ShadowedRoute] = field(default_factory=list)
    state_where: dict[str, str] = field(default_factory=dict)

    def arrows(self) -> list[Transition]:
        """Transitions without repeats (one arrow per source, target and label)."""
        seen: dict[Transition, None] = {}
        for transition in self.transitions:
            seen.setdefault(transition, None)
        return list(seen)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of DESIGN §11."""
        return {
            "start": self.start,
            "states": list(self.states),
            "transitions": [t.as_dict() for t in self.arrows()],
        }
