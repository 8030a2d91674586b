"""Seeing a bot: its state machine as data (``graph``) and the mistakes in it (``check``)."""

from __future__ import annotations

from .build import graph_from_config, graph_of
from .findings import Finding, check_findings, find
from .model import Graph, ShadowedRoute, Transition
from .render import FORMATS, render, to_dot, to_mermaid

__all__ = [
    "FORMATS",
    "Finding",
    "Graph",
    "ShadowedRoute",
    "Transition",
    "check_findings",
    "find",
    "graph_from_config",
    "graph_of",
    "render",
    "to_dot",
    "to_mermaid",
]
