"""The studio's Flask app: the page, its static files and the JSON API (see ``create_app``)."""

from __future__ import annotations

import logging
import secrets
from importlib import resources
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from . import security
from .chat import Conversations
from .chat_api import chat_api
from .editor_api import editor_api
from .graph_api import graph_api
from .project import Project

log = logging.getLogger(__name__)
STATIC = Path(str(resources.files(__package__).joinpath("static")))


def create_app(
    config_path: str | Path,
    *,
    token: str | None = None,
    loopback: bool = True,
    database_path: str | Path | None = None,
) -> Flask:
    """The studio for one config. ``token``: required on every request when given (the CLI
    insists on one for any host but the loopback address). ``database_path``: the studio's
    SQLite file (default: a new one in a temporary folder, removed at exit)."""
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    csrf_token = secrets.token_urlsafe(32)
    app.extensions["studio"] = {
        "project": Project(config_path, database_path),
        "conversations": Conversations(),
    }
    security.install(app, token=token, csrf_token=csrf_token, loopback=loopback)
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    page = page.replace("{{csrf_token}}", str(escape(csrf_token)))

    @app.get("/")
    def index() -> Response:
        return Response(page, mimetype="text/html")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        return jsonify(error=error.description), error.code

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        log.exception("studio request failed")
        return jsonify(error=f"the studio failed: {type(error).__name__}: {error}"), 500

    app.register_blueprint(chat_api)
    app.register_blueprint(graph_api)
    app.register_blueprint(editor_api)
    return app
