"""Flows: bots written as YAML (rule source ``flow``), compiled to a Dispatcher.

See docs/flows.md for the format; ``flow.schema.json`` beside this module is its JSON Schema.
"""

from __future__ import annotations

from pathlib import Path

from .loader import load_flow, parse_flow, read_flow
from .model import Block, Flow, Route, State
from .schema import flow_schema

#: The published JSON Schema of the format (for editors: ``$schema=...``).
SCHEMA_PATH = Path(__file__).with_name("flow.schema.json")

__all__ = [
    "SCHEMA_PATH",
    "Block",
    "Flow",
    "Route",
    "State",
    "flow_schema",
    "load_flow",
    "parse_flow",
    "read_flow",
]
