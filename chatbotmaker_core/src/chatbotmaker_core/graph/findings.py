"""What ``chatbotmaker check`` finds in a bot's graph (DESIGN §11), for flows and Python alike.

Errors: a transition to a state that does not exist. Warnings: a state unreachable from the
start, a route after a catch-all, a state nothing leaves that is not marked as an end. When a
reachable state has a dynamic transition, any state may be reached: unreachable states are then
not reported (we cannot know).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import did_you_mean
from .model import Graph


@dataclass(frozen=True)
class Finding:
    level: str  # "error" or "warning"
    message: str
    where: str | None = None

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


def find(graph: Graph) -> list[Finding]:
    return [*_unknown_targets(graph), *_unreachable(graph), *_shadowed(graph), *_dead_ends(graph)]


def _unknown_targets(graph: Graph) -> list[Finding]:
    known = set(graph.states)
    return [
        Finding(
            "error",
            f"state {t.source!r}: change to unknown state {t.target!r}"
            f"{did_you_mean(t.target, graph.states)}; states: {', '.join(graph.states)}",
            t.where,
        )
        for t in graph.transitions
        if t.target is not None and t.target not in known
    ]


def _unreachable(graph: Graph) -> list[Finding]:
    reached, todo = {graph.start}, [graph.start]
    while todo:
        state = todo.pop()
        for t in graph.transitions:
            if t.source != state:
                continue
            if t.target is None:
                return []  # a dynamic transition may lead anywhere
            if t.target not in reached:
                reached.add(t.target)
                todo.append(t.target)
    return [
        Finding(
            "warning",
            f"state {name!r} is unreachable from the start {graph.start!r}: nothing changes to it",
            graph.state_where.get(name),
        )
        for name in graph.states
        if name not in reached
    ]


def _shadowed(graph: Graph) -> list[Finding]:
    return [
        Finding(
            "warning",
            f"state {s.state!r}, route {s.route} can never run: route {s.catch_all} before it "
            f"matches everything; move the catch-all route last",
            s.where,
        )
        for s in graph.shadowed
    ]


def _dead_ends(graph: Graph) -> list[Finding]:
    leaving = {t.source for t in graph.transitions if t.target != t.source}
    how = (
        "mark it 'end: true' if the conversation ends there"
        if graph.kind == "flow"
        else "list it in the rules' 'end_states' if the conversation ends there"
    )
    return [
        Finding(
            "warning",
            f"state {name!r}: nothing leaves it (no go or change_state); {how}",
            graph.state_where.get(name),
        )
        for name in graph.states
        if name not in leaving and name not in graph.ends
    ]


def check_findings(config: str, *, strict: bool = False) -> tuple[list[str], list[str]]:
    """For ``chatbotmaker check``: ``(errors, warnings)``; with ``strict`` the warnings are
    errors too."""
    from .build import graph_from_config

    findings = find(graph_from_config(config))
    errors = [str(f) for f in findings if f.level == "error"]
    warnings = [str(f) for f in findings if f.level == "warning"]
    if strict:
        return errors + [f"{warning} (--strict)" for warning in warnings], []
    return errors, warnings
