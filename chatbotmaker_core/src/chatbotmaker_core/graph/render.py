"""The graph as Mermaid ``stateDiagram-v2``, Graphviz DOT or JSON (DESIGN §11)."""

from __future__ import annotations

import json
import re

from .model import Graph

FORMATS = ("mermaid", "dot", "json")
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: words Mermaid reads as syntax; states so named are declared with an alias
_RESERVED = {"end", "state", "note", "direction", "class", "classDef", "style", "as", "click"}
DYNAMIC = "?"


def render(graph: Graph, format: str) -> str:
    if format == "json":
        return json.dumps(graph.as_dict(), indent=2) + "\n"
    if format == "dot":
        return to_dot(graph)
    if format == "mermaid":
        return to_mermaid(graph)
    raise ValueError(f"unknown graph format {format!r}; choose one of {', '.join(FORMATS)}")


def to_mermaid(graph: Graph) -> str:
    ids: dict[str, str] = {}
    lines = ["stateDiagram-v2"]
    for index, name in enumerate(graph.states):
        if _PLAIN.match(name) and name not in _RESERVED:
            ids[name] = name
        else:
            ids[name] = f"s{index}"
            lines.append(f'    state "{_mermaid_text(name)}" as s{index}')
    arrows = graph.arrows()
    if any(t.target is None for t in arrows):
        dynamic = "dynamic"
        while dynamic in ids.values():
            dynamic += "_"
        lines.append(f'    state "{DYNAMIC}" as {dynamic}')
    lines.append(f"    [*] --> {ids.get(graph.start, graph.start)}")
    for t in arrows:
        target = dynamic if t.target is None else ids.get(t.target, t.target)
        label = f": {_mermaid_text(t.label)}" if t.label else ""
        lines.append(f"    {ids[t.source]} --> {target}{label}")
    for name in graph.states:
        if name in graph.ends:
            lines.append(f"    {ids[name]} --> [*]")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    # Mermaid has no escape for quotes or line breaks in labels; '#' starts an entity.
    return " ".join(text.replace('"', "'").replace("#", "#35;").split())


def to_dot(graph: Graph) -> str:
    lines = ['digraph "chatbotmaker" {', "    rankdir=LR;", '    "[start]" [shape=point];']
    for name in graph.states:
        shape = "doublecircle" if name in graph.ends else "box"
        lines.append(f"    {_dot(name)} [shape={shape}, style=rounded];")
    arrows = graph.arrows()
    if any(t.target is None for t in arrows):
        lines.append(f'    "[dynamic]" [label="{DYNAMIC}", shape=plaintext];')
    lines.append(f'    "[start]" -> {_dot(graph.start)};')
    for t in arrows:
        target = '"[dynamic]"' if t.target is None else _dot(t.target)
        label = f" [label={_dot(t.label)}]" if t.label else ""
        lines.append(f"    {_dot(t.source)} -> {target}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
