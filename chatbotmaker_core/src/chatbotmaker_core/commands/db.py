"""``chatbotmaker db upgrade|current|history`` (and ``init-db``, a synonym of ``db upgrade``)."""

from __future__ import annotations

import argparse
from typing import Any


def _bot(config: str) -> Any:
    from ..bot import build_bot  # SQLAlchemy: imported when a command runs, not for --help
    from ..database.schema import schema_mode

    with schema_mode("upgrade"):
        return build_bot(config)


def run_upgrade(args: argparse.Namespace) -> int:
    from ..database.migrate import upgrade

    bot = _bot(args.config)
    try:
        channel = getattr(args, "channel", None) or bot.default_channel
        report = upgrade(bot.database, channel=channel)
        queue = bot.queue.apply_schema() if bot.queue is not None else False
    finally:
        bot.database.dispose()
    before, after = report["from"], report["to"]
    url = bot.database.url
    if before == after:
        print(f"{url}: already at version {after} (nothing to do)")
    else:
        print(f"{url}: upgraded from {describe(before)} to version {after}")
    for merged in report.get("merged", []):
        ids = ", ".join(str(i) for i in merged["merged"])
        print(
            f"merged duplicate user {merged['fb_id']!r}: kept row {merged['kept']}, "
            f"merged and deleted rows {ids}"
        )
    if "channel" in report:
        print(f"existing users are on channel {report['channel']!r} (revision 0003)")
    if report.get("dropped_arguments"):
        print(f"dropped {report['dropped_arguments']} argument(s) belonging to no user")
    if queue:
        print(f"{url}: queue schema applied")
    return 0


def describe(version: str | None) -> str:
    if version is None:
        return "an empty database"
    if version == "0.0.13":
        return "a chatbotmaker 0.0.13 database"
    if version == "unversioned-first":
        return "the first schema (no version recorded)"
    return f"version {version}"


def run_current(args: argparse.Namespace) -> int:
    from ..database.schema import HEAD, detect

    bot = _bot(args.config)
    try:
        with bot.database.engine.connect() as conn:
            version = detect(conn)
    finally:
        bot.database.dispose()
    state = "current" if version == HEAD else "outdated: run `chatbotmaker db upgrade CONFIG`"
    if version is None:
        state = "never initialised: run `chatbotmaker db upgrade CONFIG`"
    print(f"{version or 'none'} ({state}; this chatbotmaker needs {HEAD})")
    return 0


def run_history(args: argparse.Namespace) -> int:
    from ..database.migrate import history
    from ..database.schema import HEAD

    for revision, down, doc in history():
        print(f"{down or 'base'} -> {revision}{' (head)' if revision == HEAD else ''}: {doc}")
    return 0


def add_commands(command: Any, config_argument: Any) -> None:
    """Register ``db`` (with its subcommands) on the CLI's parser."""
    db = command("db", None, "database schema: upgrade, current, history")
    actions = db.add_subparsers(title="actions", metavar="ACTION", required=True)
    for name, run, text in (
        ("upgrade", run_upgrade, "bring the database to the current schema (0.0.13 included)"),
        ("current", run_current, "print the database's schema version"),
        ("history", run_history, "list the schema versions"),
    ):
        sub = actions.add_parser(name, help=text, description=text)
        sub.set_defaults(run=run)
        config_argument(sub)
        if name == "upgrade":
            sub.add_argument(
                "--channel",
                help="the channel (messenger table) existing users came from, when upgrading "
                "past revision 0003 (default: the config's messenger, or its first)",
            )
