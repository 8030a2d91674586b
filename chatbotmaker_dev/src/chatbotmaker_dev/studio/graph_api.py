"""JSON API of the diagram: states and arrows with their coordinates, the user's state."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from chatbotmaker_core.graph import find, graph_of

from . import chat
from .context import project
from .layout import layout
from .stats import state_counts

graph_api = Blueprint("studio_graph", __name__, url_prefix="/api")


@graph_api.get("/graph")
def graph() -> Any:
    current = project()
    with current.lock:
        loaded = current.current()
        if loaded.bot is None:
            return jsonify(kind=loaded.kind, errors=loaded.errors, layout=None, current=None)
        bot = loaded.bot
        drawn = graph_of(bot.dispatcher, bot.config.get("initial_state"))
        state = None
        uid = request.args.get("user")
        if uid:
            state = chat.user_view(current, uid[:255])["state"]
    return jsonify(
        kind=loaded.kind,
        errors=[],
        layout=layout(drawn),
        current=state or None,
        start=drawn.start,
        findings=[{"level": f.level, "message": str(f)} for f in find(drawn)],
        counts=state_counts(current.config_path),
        where=drawn.state_where,
    )
