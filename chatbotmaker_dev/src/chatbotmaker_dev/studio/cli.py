"""``chatbotmaker studio [CONFIG]``: the command, added to chatbotmaker's CLI.

chatbotmaker-dev registers it through the ``register_commands`` plugin hook (``plugin.py``):
:func:`configure` adds its arguments, :func:`run_studio` runs it.
"""

from __future__ import annotations

import argparse
import logging
import secrets

from chatbotmaker_core.commands.options import port
from chatbotmaker_core.config import DEFAULT_CONFIG
from chatbotmaker_core.errors import ConfigError

log = logging.getLogger(__name__)


HELP = "a web page to chat with the bot, see its diagram and edit its flow (127.0.0.1)"


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``chatbotmaker studio`` (the ``register_commands`` hook's configure)."""
    parser.add_argument(
        "config",
        nargs="?",
        default=DEFAULT_CONFIG,
        help=f"the bot's config file (default: {DEFAULT_CONFIG})",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=port, default=8765, help="port to listen on (8765)")
    parser.add_argument(
        "--token",
        help="access token every request must carry; required for any host but 127.0.0.1",
    )


def run_studio(args: argparse.Namespace) -> int:
    from pathlib import Path

    from waitress import serve

    from .app import create_app
    from .security import is_loopback

    loopback = is_loopback(args.host)
    if not loopback and not args.token:
        raise ConfigError(
            f"--host {args.host} exposes the studio (it can edit the flow) beyond this "
            f"machine; add --token {secrets.token_urlsafe(16)} (any secret) or use 127.0.0.1"
        )
    if not Path(args.config).is_file():
        raise ConfigError(f"config file {args.config!r} not found; pass its path")
    app = create_app(args.config, token=args.token, loopback=loopback)
    shown = "127.0.0.1" if loopback else args.host
    query = f"/?token={args.token}" if args.token else "/"
    print(f"studio for {args.config}: http://{shown}:{args.port}{query}  (Ctrl+C stops it)")
    try:
        serve(app, host=args.host, port=args.port, threads=4, _quiet=True)
    finally:
        app.extensions["studio"]["project"].close()
    return 0
