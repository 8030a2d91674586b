"""From a Dispatcher (or a config file) to a :class:`Graph`, without running any handler."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..dispatcher import Dispatcher
from .flow_reader import flow_transitions
from .model import Graph
from .python_reader import python_transitions


def graph_of(dispatcher: Dispatcher, start: str | None = None) -> Graph:
    """The state machine of ``dispatcher``; ``start`` defaults to the rules' own start, else
    ``"welcome"``."""
    start = dispatcher.config.get("initial_state") or start or "welcome"
    ends = set(dispatcher.config.get("end_states") or ())
    flow = dispatcher.config.get("flow")
    if flow is not None:
        transitions, shadowed = flow_transitions(flow)
        where = {
            name: flow.document.where(("states", name), key=True) for name in dispatcher.states
        }
        return Graph("flow", start, dispatcher.states, transitions, ends, shadowed, where)
    return Graph("python", start, dispatcher.states, python_transitions(dispatcher.actions), ends)


def graph_from_config(source: str | Path | Mapping[str, Any]) -> Graph:
    """The graph of a config's rules; only ``[rules]`` is built (no database, no messenger)."""
    from ..config import build_component, load_config
    from ..errors import ConfigError

    config = load_config(source)
    bot = config.get("bot", {})
    if not isinstance(bot, Mapping):
        raise ConfigError(f"[bot] must be a table, got {type(bot).__name__}")
    dispatcher = build_component(config, "rules")
    return graph_of(dispatcher, bot.get("initial_state"))
