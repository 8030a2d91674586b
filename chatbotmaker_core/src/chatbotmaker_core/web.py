"""The web side: a Flask app serving the messenger's webhook at ``/webhook``.

``create_app(bot)`` is what ``chatbotmaker serve`` runs on waitress. For a pre-forking server
such as gunicorn, ``app_from_env()`` builds the app from the config file named by
``$CHATBOTMAKER_CONFIG``::

    gunicorn --workers 4 --bind 0.0.0.0:8000 'chatbotmaker_core.web:app_from_env()'
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask, jsonify
from sqlalchemy import text

from .delivery import time_left, turn_deadline
from .storable import describe, is_permanent

if TYPE_CHECKING:
    from .bot import Bot
    from .message import Message

log = logging.getLogger(__name__)

#: request bodies larger than this get 413 before anything reads them
MAX_BODY_BYTES = 1024 * 1024
#: the environment variable ``app_from_env`` reads the config path from
CONFIG_VARIABLE = "CHATBOTMAKER_CONFIG"


def create_app(bot: Bot) -> Flask:
    """A Flask app for ``bot``: the messenger's blueprint at ``/webhook``, and ``/healthz``.

    A bot with several messengers (``[messengers.<name>]``) serves each at
    ``/webhook/<name>``; each blueprint gets ``bot.for_channel(name)``, so what it receives
    is that channel's.
    """
    app = Flask("chatbotmaker")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["chatbotmaker.bot"] = bot
    several = len(bot.messengers) > 1 or bot.channel_urls
    for channel, messenger in bot.messengers.items():
        blueprint = getattr(messenger, "blueprint", None)
        if blueprint is None:
            continue
        try:
            made = blueprint(bot.for_channel(channel))
        except NotImplementedError:
            log.warning("messenger %s receives no webhooks", type(messenger).__name__)
            continue
        if several:  # blueprint names are unique per app: two tables may use one plugin
            app.register_blueprint(
                made, url_prefix=f"/webhook/{channel}", name=f"{channel}_webhook"
            )
        else:
            app.register_blueprint(made, url_prefix="/webhook")
    _dispose_after_fork(bot)
    if bot.queue is not None:
        bot.queue.apply_schema()  # queued mode: the webhook enqueues into procrastinate's tables

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


def receive_events(bot: Bot, messages: Iterable[Message]) -> bool:
    """Hand each message of a webhook batch to ``bot.receive`` on its own.

    One message that fails never costs the others. A failure that will recur on every
    redelivery (the message can never be stored: ``storable.is_permanent``) is logged with the
    user id and message id, never the text, and that message is skipped. Any other failure
    (the database is down) is logged, the rest still proceed, and the result is False: the
    webhook then answers 5xx so that the platform delivers the batch again, and the message
    ids already handled are skipped then.
    """
    complete = True
    # One send deadline for the whole request (each turn's nests inside it), so a batch of
    # events answers inside the platform's timeout too; events left when it has passed are
    # not started: the platform delivers the batch again and the handled ones are skipped.
    with turn_deadline(bot.retry_policy):
        for message in messages:
            if time_left() == 0:
                complete = False
                log.warning(
                    "message %s of user %s left for redelivery: the request's send deadline "
                    "([bot] send_deadline) passed",
                    message.message_id,
                    message.user_id,
                )
                continue
            complete = _receive_one(bot, message) and complete
    return complete


def _receive_one(bot: Bot, message: Message) -> bool:
    """Receive one event; False when it failed and should be delivered again."""
    try:
        bot.receive(message)  # handled now (inline mode) or enqueued (queued mode)
    except Exception as error:  # noqa: BLE001 - one event must not cost the others
        if is_permanent(error):
            log.error(
                "message %s of user %s skipped: it can never be stored (%s)",
                message.message_id,
                message.user_id,
                describe(error),
            )
            return True
        log.error(
            "message %s of user %s not received, the platform will deliver it again: %s",
            message.message_id,
            message.user_id,
            describe(error),
        )
        log.debug("the failure of message %s", message.message_id, exc_info=True)
        return False
    return True


def app_from_env() -> Flask:
    """The app for ``$CHATBOTMAKER_CONFIG`` (default ``chatbotmaker.toml``): a WSGI factory.

    Each gunicorn worker imports and calls it, so each has its own engine and HTTP session.
    """
    from .bot import Bot
    from .config import DEFAULT_CONFIG

    configure_server_logging()
    path = os.environ.get(CONFIG_VARIABLE) or DEFAULT_CONFIG
    bot = Bot.from_config(path)
    app = create_app(bot)
    from .config import load_config
    from .metrics import add_route

    add_route(app, bot, load_config(path), shared=True)  # [metrics]: one count for all workers
    return app


def configure_server_logging() -> None:
    """Log lines with time, process and level, like gunicorn's own, when nothing else did.

    gunicorn configures only its own loggers: ours would reach stderr through logging's
    last-resort handler, bare messages without time or level, and INFO would be lost. The
    level follows gunicorn's ``--log-level`` (its ``gunicorn.error`` logger), else WARNING.
    An application that configured logging itself (the root logger has handlers) is left alone.
    """
    root = logging.getLogger()
    if root.handlers:
        return
    server = logging.getLogger("gunicorn.error")
    level = server.level if server.handlers and server.level else logging.WARNING
    logging.basicConfig(
        level=level,
        format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S %z",
    )


def _dispose_after_fork(bot: Bot) -> None:
    """Drop pooled database connections inherited through ``fork`` (gunicorn ``--preload``).

    A connection shared by two processes corrupts both; SQLAlchemy's advice is to dispose
    the pool in the child without closing the parent's connections.
    """
    if not hasattr(os, "register_at_fork"):  # pragma: no cover - Windows
        return
    engine_ref = weakref.ref(bot.database.engine)

    def after_fork() -> None:
        engine = engine_ref()
        if engine is not None:
            engine.dispose(close=False)

    os.register_at_fork(after_in_child=after_fork)
