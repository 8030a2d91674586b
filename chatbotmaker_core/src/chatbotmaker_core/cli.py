"""The ``chatbotmaker`` command: chat, check, graph, plugins, serve."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from .config import COMPONENTS, DEFAULT_CONFIG, build_bot, check_config, load_config
from .errors import ChatbotmakerError, UnknownPluginError
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
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")

    graph = command("graph", run_graph, "draw the bot's states: Mermaid, DOT or JSON")
    config_argument(graph)
    graph.add_argument("--format", choices=("mermaid", "dot", "json"), default="mermaid")
    graph.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")

    plugins = command("plugins", run_plugins, "list installed plugins and what they register")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")

    worker = command("worker", run_worker, "run a queue worker (mode = 'queued', PostgreSQL)")
    config_argument(worker)
    worker.add_argument("--concurrency", type=int, help="jobs run at once ([worker] concurrency)")
    worker.add_argument("--burst", action="store_true", help="stop once the queue is empty")

    jobs = command("jobs", run_jobs, "list failed events of the queue, and retry them")
    config_argument(jobs)
    jobs.add_argument("--status", default="failed", help="failed (default), todo, doing, ...")
    jobs.add_argument("--retry", type=int, nargs="*", metavar="ID", help="retry these job ids")
    jobs.add_argument("--retry-all", action="store_true", help="retry every listed job")

    init_db = command("init-db", run_init_db, "create the bot's tables (and the queue's)")
    config_argument(init_db)

    serve = command("serve", run_serve, "serve the webhook on a production WSGI server")
    config_argument(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.add_argument("--threads", type=int, default=8, help="worker threads (8)")
    return parser


def run_chat(args: argparse.Namespace) -> int:
    bot = build_bot(args.config)
    if not getattr(bot.messenger, "prints_to_terminal", False):
        # Talk to the rules and database of any bot without reaching its real platform.
        try:
            bot.messenger = get_plugin_manager().factory("messenger", "dev")()
        except UnknownPluginError:
            raise ChatbotmakerError(
                "chat prints replies through the 'dev' messenger: pip install chatbotmaker-dev"
            ) from None
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
    if not problems:  # the graph's findings: unknown targets, unreachable states, ...
        from .graph import check_findings

        problems = check_findings(args.config, strict=args.strict)
    if problems:
        for problem in problems:
            print(f"error: {problem}")
        print(f"{args.config}: {len(problems)} problem{'s' if len(problems) > 1 else ''}")
        return 1
    config = load_config(args.config)
    names = ", ".join(f"{table} {config[table]['name']!r}" for table in COMPONENTS)
    print(f"{args.config}: ok ({names})")
    return 0


def run_graph(args: argparse.Namespace) -> int:
    from .graph import graph_from_config, render

    text = render(graph_from_config(args.config), args.format)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text)
    else:
        sys.stdout.write(text)
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
    """Serve ``create_app(bot)`` on waitress, a production WSGI server (threads, no reloader).

    waitress itself refuses bodies over the webhook's limit, before buffering them. For
    several processes use gunicorn with ``chatbotmaker_core.web:app_from_env()``.
    """
    import waitress

    from .web import MAX_BODY_BYTES, create_app

    bot = build_bot(args.config)
    app = create_app(bot)
    log.warning(
        "serving %s (messenger %s) on http://%s:%d/webhook with %d threads",
        args.config,
        type(bot.messenger).__name__,
        args.host,
        args.port,
        args.threads,
    )
    try:
        waitress.serve(
            app,
            host=args.host,
            port=args.port,
            threads=args.threads,
            ident="chatbotmaker",
            max_request_body_size=MAX_BODY_BYTES,
        )
    finally:
        bot.database.dispose()
    return 0


def _queued_bot(config: str) -> Any:
    bot = build_bot(config)
    if bot.queue is None:
        raise ChatbotmakerError(f'{config}: this needs [bot] mode = "queued" (on PostgreSQL)')
    return bot


def run_worker(args: argparse.Namespace) -> int:
    from .queued.worker import WorkerSettings, run_worker

    bot = _queued_bot(args.config)
    table = load_config(args.config).get("worker", {})
    try:
        settings = WorkerSettings(**table)
    except TypeError as error:
        raise ChatbotmakerError(f"[worker]: {error}") from None
    if args.concurrency:
        settings = replace(settings, concurrency=args.concurrency)
    if args.burst:
        settings = replace(settings, wait=False)
    log.warning("worker for %s: concurrency %d", args.config, settings.concurrency)
    run_worker(bot.queue, settings)
    return 0


def run_jobs(args: argparse.Namespace) -> int:
    bot = _queued_bot(args.config)
    queue = bot.queue
    with queue.sync_app.open():
        manager = queue.sync_app.job_manager
        listed = manager.list_jobs(status=args.status)
        for job in listed:
            summary = json.dumps(job.task_kwargs)[:120]
            print(
                f"{job.id}\t{job.status}\t{job.task_name}\t{job.lock}\tattempts={job.attempts}"
                f"\t{summary}"
            )
        print(f"{len(listed)} {args.status} job{'s' if len(listed) != 1 else ''}")
        ids = [job.id for job in listed] if args.retry_all else (args.retry or [])
        for job_id in ids:
            manager.retry_job_by_id(job_id, retry_at=datetime.now(timezone.utc))
            print(f"retried job {job_id}")
    return 0


def run_init_db(args: argparse.Namespace) -> int:
    bot = build_bot(args.config)  # creating the Database creates our tables
    created = bot.queue.apply_schema() if bot.queue is not None else False
    print(f"{bot.database.url}: tables ready" + (" (queue schema applied)" if created else ""))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
