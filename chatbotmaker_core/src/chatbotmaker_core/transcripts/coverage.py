"""``chatbotmaker test --coverage``: the states entered and transitions taken by the
transcripts, against the bot's graph (DESIGN §11), untested states listed by name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..graph import Graph
from .trace import Trace


@dataclass
class Coverage:
    config: Path
    states: list[str]  # every state of the graph, in its order
    entered: list[str]
    transitions: list[tuple[str, str]]  # the graph's transitions with a known target
    taken: list[tuple[str, str]]

    @classmethod
    def of(cls, config: Path, graph: Graph, trace: Trace) -> Coverage:
        known = list(dict.fromkeys((t.source, t.target) for t in graph.arrows() if t.target))
        return cls(
            config,
            list(graph.states),
            [s for s in graph.states if s in trace.states],
            known,
            [t for t in known if t in trace.transitions],
        )

    @property
    def untested_states(self) -> list[str]:
        return [s for s in self.states if s not in self.entered]

    @property
    def untaken(self) -> list[tuple[str, str]]:
        return [t for t in self.transitions if t not in self.taken]

    def render(self) -> str:
        lines = [
            f"coverage of {self.config}: states {_ratio(len(self.entered), len(self.states))}, "
            f"transitions {_ratio(len(self.taken), len(self.transitions))}"
        ]
        if self.untested_states:
            lines.append(f"  untested states: {', '.join(self.untested_states)}")
        if self.untaken:
            shown = ", ".join(f"{s} -> {t}" for s, t in self.untaken)
            lines.append(f"  transitions not taken: {shown}")
        return "\n".join(lines)


def _ratio(part: int, whole: int) -> str:
    percent = 100 * part // whole if whole else 100
    return f"{part}/{whole} ({percent}%)"
