"""The ``chatbotmaker`` command: chat, check, plugins, serve."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from .config import COMPONENTS, DEFAULT_CONFIG, build_bot, check_config, load_config
from .errors import ChatbotmakerError
from .message import Message
from .plugins import get_plugin_manager

log = logging.getLogger("chatbotmaker")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except ChatbotmakerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatbotmaker", description="Build, run and inspect chatbotmaker bots."
    )
    parser.add_argument("--log-level", default="warning", help="debug, info, warning (default)")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, run: Any, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(run=run)
        return sub

    def config_argument(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "config",
            nargs="?",
            default=DEFAULT_CONFIG,
            help=f"the bot's config file (default: {DEFAULT_CONFIG})",
        )

    chat = command("chat", run_chat, "talk to the bot in the terminal (reads stdin, works piped)")
    config_argument(chat)
    chat.add_argument("--user", default="terminal", help="the user id to chat as")

    check = command("check", run_check, "validate the config, plugins and rules")
    config_argument(check)

    plugins = command("plugins", run_plugins, "list installed plugins and what they register")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")

    serve = command("serve", run_serve, "serve the webhook on a production WSGI server")
    config_argument(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--threads", type=int, default=8)
    return parser


def run_chat(args: argparse.Namespace) -> int:
    bot = build_bot(args.config)
    if not getattr(bot.messenger, "prints_to_terminal", False):
        # Talk to the rules and database of any bot without reaching its real platform.
        bot.messenger = get_plugin_manager().factory("messenger", "dev")()
    interactive = sys.stdin.isatty()
    try:
        while True:
            try:
                line = input("you > ") if interactive else sys.stdin.readline()
            except EOFError:
                break
            if not interactive and line == "":
                break
            text = line.strip()
            if text:
                bot.handle(Message(user_id=args.user, text=text))
                sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    if interactive:
        print()
    bot.database.dispose()
    return 0


def run_check(args: argparse.Namespace) -> int:
    problems = check_config(args.config)
    if problems:
        for problem in problems:
            print(f"error: {problem}")
        print(f"{args.config}: {len(problems)} problem{'s' if len(problems) > 1 else ''}")
        return 1
    config = load_config(args.config)
    names = ", ".join(f"{table} {config[table]['name']!r}" for table in COMPONENTS)
    print(f"{args.config}: ok ({names})")
    return 0


def run_plugins(args: argparse.Namespace) -> int:
    manager = get_plugin_manager()
    conflict = None
    for kind in ("messenger", "database", "rule_source"):
        try:
            manager.components(kind)
        except ChatbotmakerError as error:
            conflict = str(error)
            break
    plugins = [p.as_dict() for p in manager.plugins]
    if args.json:
        print(json.dumps({"plugins": plugins, "error": conflict}, indent=2))
    else:
        for plugin in plugins:
            where = f"{plugin['distribution'] or '?'} {plugin['version'] or ''}".strip()
            print(f"{plugin['entry_point']} ({where}) = {plugin['module']}")
            if plugin["error"]:
                print(f"    failed to load: {plugin['error']}")
            for kind, names in sorted(plugin["registers"].items()):
                print(f"    {kind}: {', '.join(names)}")
        if conflict:
            print(f"error: {conflict}")
    return 1 if conflict else 0


def run_serve(args: argparse.Namespace) -> int:
    import waitress

    from .web import create_app

    bot = build_bot(args.config)
    app = create_app(bot)
    log.warning("serving %s on http://%s:%d/webhook", args.config, args.host, args.port)
    waitress.serve(app, host=args.host, port=args.port, threads=args.threads, ident="chatbotmaker")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
