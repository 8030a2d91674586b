"""The studio's per-app objects, for the blueprints."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import abort, current_app, request

from .chat import Conversations
from .project import Project

_Part = TypeVar("_Part")


def project() -> Project:
    return _part("project", Project)


def conversations() -> Conversations:
    return _part("conversations", Conversations)


def _part(key: str, kind: type[_Part]) -> _Part:
    """``app.extensions["studio"][key]``, checked: what ``create_app`` put there."""
    value = current_app.extensions["studio"][key]
    if not isinstance(value, kind):
        raise TypeError(
            f"app.extensions['studio'][{key!r}] is not a {kind.__name__}; "
            f"make the studio's app with create_app()"
        )
    return value


def body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, description="send a JSON object (Content-Type: application/json)")
    return data


def text_field(data: dict[str, Any], key: str, *, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        abort(400, description=f"{key!r} must be a non-empty string")
    return value


def user_id(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 255:
        abort(400, description="'user' must be a user id of 1 to 255 characters")
    return value
