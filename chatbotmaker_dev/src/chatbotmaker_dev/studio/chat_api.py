"""JSON API of the chat panel: say, the user's state, reset, transcripts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request

from chatbotmaker_core.errors import ConfigError

from . import chat
from .context import body, conversations, project, text_field, user_id
from .transcripts import run_project_transcripts, save_transcript

chat_api = Blueprint("studio_chat", __name__, url_prefix="/api")
KINDS = ("text", "quick_reply", "postback")


@chat_api.get("/project")
def project_view() -> Any:
    current = project()
    loaded = current.current()
    return jsonify(
        config=current.config_path.name,
        kind=loaded.kind,
        errors=loaded.errors,
        flow_file=loaded.flow_file.name if loaded.flow_file else None,
    )


@chat_api.get("/user")
def user_view() -> Any:
    return jsonify(chat.user_view(project(), user_id(request.args.get("user"))))


@chat_api.post("/say")
def say() -> Any:
    data = body()
    kind = data.get("kind", "text")
    if kind not in KINDS:
        abort(400, description=f"'kind' must be one of {', '.join(KINDS)}")
    text = text_field(data, "text", default="")
    return jsonify(chat.say(project(), conversations(), user_id(data.get("user")), text, kind))


@chat_api.post("/reset")
def reset() -> Any:
    uid = user_id(body().get("user"))
    chat.reset_user(project(), conversations(), uid)
    return jsonify(chat.user_view(project(), uid))


@chat_api.post("/transcript")
def transcript() -> Any:
    data = body()
    uid = user_id(data.get("user"))
    name = text_field(data, "name")
    current = project()
    try:
        path = save_transcript(
            current.folder, current.config_path, name, uid, conversations().of(uid)
        )
    except ConfigError as error:
        return jsonify(error=str(error)), 409
    return jsonify(file=path.name, steps=len(conversations().of(uid)))


@chat_api.post("/tests")
def run_tests() -> Any:
    current = project()
    with current.lock:  # the rules as on disk now, and no reload while they run
        current.current()
        results = run_project_transcripts(current.config_path)
    return jsonify(results=results)
