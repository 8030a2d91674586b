"""The web side: a Flask app serving the messenger's webhook at ``/webhook``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flask import Flask, jsonify
from sqlalchemy import text

if TYPE_CHECKING:
    from .bot import Bot

log = logging.getLogger(__name__)

#: request bodies larger than this get 413 before anything reads them
MAX_BODY_BYTES = 1024 * 1024


def create_app(bot: Bot) -> Flask:
    """A Flask app for ``bot``: the messenger's blueprint at ``/webhook``, and ``/healthz``."""
    app = Flask("chatbotmaker")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["chatbotmaker.bot"] = bot
    blueprint = getattr(bot.messenger, "blueprint", None)
    if blueprint is not None:
        try:
            app.register_blueprint(blueprint(bot), url_prefix="/webhook")
        except NotImplementedError:
            log.warning("messenger %s receives no webhooks", type(bot.messenger).__name__)

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        try:
            with bot.database.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001 - reported, not raised
            log.warning("health check: database unavailable: %s", error)
            return jsonify(status="error", database="unavailable"), 503
        return jsonify(status="ok", database="ok")

    return app
