"""``chatbotmaker serve``: the webhook on waitress, a production WSGI server."""

from __future__ import annotations

import argparse
import errno
import logging

from ..errors import ChatbotmakerError

log = logging.getLogger(__name__)


def run_serve(args: argparse.Namespace) -> int:
    """Serve ``create_app(bot)`` on waitress, a production WSGI server (threads, no reloader).

    waitress itself refuses bodies over the webhook's limit, before buffering them. For
    several processes use gunicorn with ``chatbotmaker_core.web:app_from_env()``.
    """
    import waitress.server

    from ..bot import build_bot
    from ..web import MAX_BODY_BYTES, create_app

    bot = build_bot(args.config)
    try:
        app = create_app(bot)
        from ..config import load_config
        from ..metrics import add_route

        add_route(app, bot, load_config(args.config), shared=False)  # [metrics] enabled
        try:
            # Bind before announcing anything: a port in use is a one-line error, not a trace.
            server = waitress.server.create_server(
                app,
                host=args.host,
                port=args.port,
                threads=args.threads,
                ident="chatbotmaker",
                max_request_body_size=MAX_BODY_BYTES,
            )
        except OSError as error:
            raise ChatbotmakerError(_bind_error(args.host, args.port, error)) from None
        log.warning(
            "serving %s (messenger %s) on http://%s:%d/webhook with %d threads",
            args.config,
            type(bot.messenger).__name__,
            args.host,
            args.port,
            args.threads,
        )
        try:
            server.run()
        except KeyboardInterrupt:
            pass
    finally:
        bot.database.dispose()
    return 0


def _bind_error(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use; stop the other server or pass another --port"
        )
    if error.errno == errno.EACCES:
        return f"port {port} on {host} needs privileges; pass a --port above 1023"
    reason = error.strerror or str(error)
    return f"cannot listen on {host}:{port} ({reason}); check --host and --port"
