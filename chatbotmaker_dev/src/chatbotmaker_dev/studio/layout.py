"""Coordinates for the diagram: grandalf's Sugiyama layout (layered, top to bottom).

The page only draws what comes out of here (boxes at ``x, y``, arrows along ``points``), so
no layout code and no network access are needed in the browser. Self-loops are left out of
the layout (Sugiyama has no use for them) and drawn by the page as a small loop.
"""

from __future__ import annotations

from typing import Any

from grandalf.graphs import Edge, Vertex
from grandalf.graphs import Graph as GrandalfGraph
from grandalf.layouts import SugiyamaLayout

from chatbotmaker_core.graph import Graph

DYNAMIC = "?"
CHAR_WIDTH = 7.5
BOX_HEIGHT = 34
GAP = 60  # between unconnected parts of the graph


class _Box:
    def __init__(self, w: float, h: float) -> None:
        self.w, self.h = w, h
        self.xy = (0.0, 0.0)


class _Path:
    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def setpath(self, points: list[tuple[float, float]]) -> None:
        self.points = [(float(x), float(y)) for x, y in points]


def layout(graph: Graph) -> dict[str, Any]:
    """``{"states": [{name, x, y, w, h, start, end}], "edges": [{source, target, label,
    points}], "width", "height"}`` with every coordinate positive."""
    names = list(graph.states)
    arrows = graph.arrows()
    if any(t.target is None for t in arrows):
        names.append(DYNAMIC)
    for t in arrows:  # a target that does not exist is drawn too (check reports it)
        if t.target is not None and t.target not in names:
            names.append(t.target)
    vertices = {name: Vertex(name) for name in names}
    for name, vertex in vertices.items():
        vertex.view = _Box(max(60.0, len(name) * CHAR_WIDTH + 24), BOX_HEIGHT)
    edges: list[tuple[Any, Edge | None]] = []
    for t in arrows:
        target = DYNAMIC if t.target is None else t.target
        if target == t.source:
            edges.append((t, None))
            continue
        edge = Edge(vertices[t.source], vertices[target])
        edge.view = _Path()
        edges.append((t, edge))
    laid = GrandalfGraph(list(vertices.values()), [e for _, e in edges if e is not None])
    offset = 0.0
    for component in laid.C:
        sugiyama = SugiyamaLayout(component)
        sugiyama.init_all()
        sugiyama.draw()
        boxes = [v.view for v in component.sV]
        left = min(b.xy[0] - b.w / 2 for b in boxes)
        right = max(b.xy[0] + b.w / 2 for b in boxes)
        shift = offset - left
        for box in boxes:
            box.xy = (box.xy[0] + shift, box.xy[1])
        for edge in component.sE:
            edge.view.points = [(x + shift, y) for x, y in edge.view.points]
        offset += right - left + GAP
    margin = 20.0
    states = []
    for name, vertex in vertices.items():
        box = vertex.view
        states.append(
            {
                "name": name,
                "x": box.xy[0] - box.w / 2 + margin,
                "y": box.xy[1] - box.h / 2 + margin,
                "w": box.w,
                "h": box.h,
                "start": name == graph.start,
                "end": name in graph.ends,
                "dynamic": name == DYNAMIC,
                "known": name in graph.states or name == DYNAMIC,
            }
        )
    result_edges = []
    for t, laid_edge in edges:
        points = [] if laid_edge is None else _clipped(laid_edge)
        points = [(x + margin, y + margin) for x, y in points]
        result_edges.append(
            {
                "source": t.source,
                "target": DYNAMIC if t.target is None else t.target,
                "label": t.label,
                "points": points,
            }
        )
    width = max((s["x"] + s["w"] for s in states), default=0) + margin + 40
    height = max((s["y"] + s["h"] for s in states), default=0) + margin + 20
    return {"states": states, "edges": result_edges, "width": width, "height": height}


def _clipped(edge: Edge) -> list[tuple[float, float]]:
    """The path from the border of the source box to the border of the target box (grandalf
    gives centre to centre, which would hide the arrow head under the target)."""
    points = list(edge.view.points)
    if len(points) < 2:
        return points
    points[0] = _border(edge.v[0].view, points[1])
    points[-1] = _border(edge.v[1].view, points[-2])
    return points


def _border(box: _Box, towards: tuple[float, float]) -> tuple[float, float]:
    cx, cy = box.xy
    dx, dy = towards[0] - cx, towards[1] - cy
    if dx == 0 and dy == 0:
        return (cx, cy)
    scales = []
    if dx:
        scales.append(abs((box.w / 2) / dx))
    if dy:
        scales.append(abs((box.h / 2) / dy))
    scale = min(min(scales), 1.0)
    return (cx + dx * scale, cy + dy * scale)
