"""The ``chatbotmaker`` command: chat, check, graph, plugins, serve, worker, jobs, init-db.

Every mistake a user can make on the command line ends in one line on stderr and exit status
1 (or 2 for a bad option, from argparse), never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from .commands.chat import run_chat
from .commands.db import add_commands as add_db_commands
from .commands.db import run_upgrade
from .commands.options import (
    LOG_LEVELS,
    VersionAction,
    configure_logging,
    install_hint,
    job_id,
    log_level,
    port,
    positive_int,
)
from .commands.plugins import add_plugin_commands, run_plugins, wants_plugin_commands
from .commands.queue import UsageError, run_jobs, run_worker
from .commands.serve import run_serve
from .commands.stats import add_commands as add_stats_commands
from .commands.test import run_test
from .commands.users import add_commands as add_users_commands
from .config import COMPONENTS, DEFAULT_CONFIG
from .errors import ChatbotmakerError

log = logging.getLogger(__name__)


#: the commands of chatbotmaker-core; plugins add theirs (``register_commands``)
BUILTIN_COMMANDS = {
    "chat",
    "check",
    "graph",
    "plugins",
    "test",
    "worker",
    "jobs",
    "init-db",
    "serve",
    "db",
    "users",
    "stats",
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser(plugin_commands=wants_plugin_commands(argv, BUILTIN_COMMANDS))
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except UsageError as error:
        parser.exit(2, f"{parser.prog} {args.command}: error: {error}\n")
    except ChatbotmakerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ImportError as error:
        hint = install_hint(error)
        if hint is None:
            raise
        print(f"error: {hint}", file=sys.stderr)
        return 1
    return 0  # pragma: no cover - parser.exit raised


def _parser(plugin_commands: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatbotmaker", description="Build, run and inspect chatbotmaker bots."
    )
    level_help = f"{', '.join(LOG_LEVELS)} (default: warning)"
    parser.add_argument("--log-level", type=log_level, default="warning", help=level_help)
    parser.add_argument(
        "--version", action=VersionAction, help="print the installed chatbotmaker versions"
    )
    # Also after the command (`chatbotmaker chat --log-level info`); SUPPRESS keeps a value
    # given before the command when none is given after it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log-level", type=log_level, default=argparse.SUPPRESS, help=level_help)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(
        name: str, run: Any, help: str, parents: Sequence[argparse.ArgumentParser] = ()
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help, parents=[common, *parents])
        sub.set_defaults(run=run, command=name)
        return sub

    def config_argument(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "config",
            nargs="?",
            default=DEFAULT_CONFIG,
            help=f"the bot's config file (default: {DEFAULT_CONFIG})",
        )

    chat = command(
        "chat",
        run_chat,
        "talk to the bot in the terminal (reads stdin, works piped); always inline, replies "
        "printed, never sent to the platform; type an option's number to pick it",
    )
    config_argument(chat)
    chat.add_argument("--user", default="terminal", help="the user id to chat as")
    chat.add_argument(
        "--channel", help="chat as a user of this [messengers.<name>] table (default: the first)"
    )
    chat.add_argument(
        "--record", metavar="FILE", help="write the session as a transcript (*.chat.yaml)"
    )

    test = command(
        "test",
        run_test,
        "run conversation transcripts (*.chat.yaml), each on a throwaway database",
    )
    test.add_argument(
        "targets",
        nargs="*",
        metavar="[CONFIG] [PATH ...]",
        help=f"the config (a .toml; default: each transcript's 'config', else the nearest "
        f"{DEFAULT_CONFIG} above it) and transcript files or folders (default: every "
        f"*.chat.yaml under the config's folder)",
    )
    test.add_argument(
        "--coverage", action="store_true", help="report the states and transitions tested"
    )

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
    worker.add_argument(
        "--concurrency", type=positive_int, help="jobs run at once ([worker] concurrency)"
    )
    worker.add_argument("--burst", action="store_true", help="stop once the queue is empty")

    jobs = command("jobs", run_jobs, "list failed events of the queue, and retry them")
    config_argument(jobs)
    jobs.add_argument(
        "--status",
        default="failed",
        help="failed (default), todo, doing, succeeded, cancelled, aborted",
    )
    jobs.add_argument(
        "--retry", type=job_id, nargs="*", metavar="ID", help="retry these failed job ids"
    )
    jobs.add_argument("--retry-all", action="store_true", help="retry every listed job")

    init_db = command("init-db", run_upgrade, "a synonym of `db upgrade`")
    config_argument(init_db)
    # operations (commands/db.py, users.py, stats.py)
    add_db_commands(command, config_argument)
    add_users_commands(command)
    add_stats_commands(command, config_argument)

    serve = command("serve", run_serve, "serve the webhook on a production WSGI server")
    config_argument(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=port, default=8000, help="port to listen on (8000)")
    serve.add_argument("--threads", type=positive_int, default=8, help="worker threads (8)")
    if plugin_commands:
        add_plugin_commands(command, BUILTIN_COMMANDS)
    return parser


def run_check(args: argparse.Namespace) -> int:
    """Errors, warnings and notes on stderr, like every command's diagnostics; the verdict
    line (``ok`` or the problem count) last, the ``ok`` one on stdout for scripts."""
    from .config_check import check

    report = check(args.config)
    if not report.errors:  # the graph's findings: unknown targets, unreachable states, ...
        from .graph import check_findings

        errors, warnings = check_findings(args.config, strict=args.strict)
        report.errors.extend(errors)
        report.warnings.extend(warnings)
    for kind, lines in (
        ("error", report.errors),
        ("warning", report.warnings),
        ("note", report.notes),
    ):
        for line in lines:
            print(f"{kind}: {line}", file=sys.stderr)
    if report.errors:
        count = len(report.errors)
        print(f"{args.config}: {count} problem{'s' if count > 1 else ''}", file=sys.stderr)
        return 1
    names = ", ".join(f"{table} {report.components[table]!r}" for table in COMPONENTS)
    warned = len(report.warnings)
    print(
        f"{args.config}: ok ({names})"
        + (f", {warned} warning{'s' * (warned > 1)}" if warned else "")
    )
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
