"""JSON API of the flow editor. It reads and writes one file only: the flow the config's
``[rules] source`` names (no path is ever taken from the browser)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, jsonify
from ruamel.yaml.comments import CommentedMap

from chatbotmaker_core.errors import ConfigError

from . import flow_edit
from .context import body, project, text_field
from .flow_check import problems_of, write_atomically

editor_api = Blueprint("studio_editor", __name__, url_prefix="/api/flow")


def _flow_file() -> Path:
    loaded = project().current()
    if loaded.kind != "flow" or loaded.flow_file is None:
        abort(409, description="the rules are Python: shown read-only; edit them in your editor")
    return loaded.flow_file


def _document() -> tuple[Path, CommentedMap]:
    path = _flow_file()
    try:
        return path, flow_edit.read_document(path)
    except ConfigError as error:
        abort(409, description=str(error))


def _save(path: Path, data: CommentedMap) -> Any:
    """Write ``data`` when it loads as a flow; otherwise 422 with each problem placed."""
    text = flow_edit.dump(data)
    current = project()
    problems = problems_of(text, path.name, current.folder)
    if problems:
        return jsonify(saved=False, errors=problems), 422
    with current.lock:
        write_atomically(path, text)
        current.invalidate()
    return jsonify(saved=True, errors=[])


@editor_api.get("")
def flow_view() -> Any:
    current = project()
    loaded = current.current()
    if loaded.kind != "flow":
        states = []
        if loaded.bot is not None:
            states = list(loaded.bot.dispatcher.states)
        return jsonify(kind="python", editable=False, states=states, errors=loaded.errors)
    path = loaded.flow_file
    try:
        data = flow_edit.read_document(path)  # type: ignore[arg-type]
    except ConfigError as error:
        return jsonify(kind="flow", editable=False, states=[], errors=[str(error)])
    return jsonify(
        kind="flow",
        editable=True,
        file=path.name,  # type: ignore[union-attr]
        start=data.get("start"),
        states=list(data["states"]),
        errors=loaded.errors,
    )


@editor_api.get("/states/<path:name>")
def state_view(name: str) -> Any:
    _, data = _document()
    try:
        return jsonify(flow_edit.state_form(data, name))
    except KeyError:
        abort(404, description=f"no state {name!r} in the flow")


@editor_api.put("/states/<path:name>")
def state_save(name: str) -> Any:
    path, data = _document()
    if name not in data["states"]:
        abort(404, description=f"no state {name!r} in the flow")
    form = body()
    try:
        flow_edit.apply_state(data, name, form)
    except (TypeError, AttributeError, ValueError) as error:
        abort(400, description=f"malformed state form: {error}")
    return _save(path, data)


@editor_api.post("/states")
def state_add() -> Any:
    path, data = _document()
    try:
        flow_edit.add_state(data, text_field(body(), "name").strip())
    except ConfigError as error:
        return jsonify(saved=False, errors=[{"field": "name", "message": str(error)}]), 422
    return _save(path, data)


@editor_api.post("/states/<path:name>/rename")
def state_rename(name: str) -> Any:
    path, data = _document()
    try:
        flow_edit.rename_state(data, name, text_field(body(), "to"))
    except ConfigError as error:
        return jsonify(saved=False, errors=[{"field": "name", "message": str(error)}]), 422
    return _save(path, data)


@editor_api.get("/states/<path:name>/references")
def state_references(name: str) -> Any:
    _, data = _document()
    if name not in data["states"]:
        abort(404, description=f"no state {name!r} in the flow")
    return jsonify(references=flow_edit.references(data, name))


@editor_api.delete("/states/<path:name>")
def state_delete(name: str) -> Any:
    path, data = _document()
    try:
        flow_edit.delete_state(data, name)
    except ConfigError as error:
        found = flow_edit.references(data, name)
        return jsonify(
            saved=False, references=found, errors=[{"field": None, "message": str(error)}]
        ), 409
    return _save(path, data)
