"""``chatbotmaker users [CONFIG] list|show|set-state|reset|delete``: an operator's view of users.

CONFIG comes before the action (``users bot.toml show 42``) and may be left out
(``users show 42``): the first word is the config only when it is not an action.
Every action takes ``--channel C``; with the same id on several channels and no channel the
command refuses, naming them.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..config import DEFAULT_CONFIG
from .queue import UsageError

ACTIONS = ("list", "show", "set-state", "reset", "delete")


def operator_bot(config: str) -> Any:
    """The bot of ``config`` on an existing, current database (never creates tables)."""
    from ..bot import build_bot  # SQLAlchemy: imported when a command runs, not for --help
    from ..database.schema import schema_mode

    with schema_mode("existing"):
        return build_bot(config)


def _action_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, add_help=True)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="users, their channels and states")
    listing.add_argument("--state", help="only users in this state")
    listing.add_argument("--json", action="store_true", help="a JSON list")
    show = actions.add_parser("show", help="one user: state, arguments, transitions")
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="a JSON object")
    set_state = actions.add_parser("set-state", help="move a user (no handler runs)")
    set_state.add_argument("id")
    set_state.add_argument("state")
    reset = actions.add_parser("reset", help="initial state, no arguments")
    reset.add_argument("id")
    erase = actions.add_parser("delete", help="erase the user and all stored about them")
    erase.add_argument("id")
    for action in (listing, show, set_state, reset, erase):
        action.add_argument(
            "--channel",
            help="the user's channel (the [messengers.<table>] name); needed when the id "
            "is a user on several channels",
        )
    return parser


def run_users(args: argparse.Namespace) -> int:
    words = list(args.words)
    config = DEFAULT_CONFIG
    if words and words[0] not in ACTIONS and not words[0].startswith("-"):
        config = words.pop(0)
    if not words:
        raise UsageError(f"an action is needed: {', '.join(ACTIONS)}")
    parsed = _action_parser("chatbotmaker users").parse_args(words)
    bot = operator_bot(config)
    try:
        return _run(bot, parsed)
    finally:
        bot.database.dispose()


def _run(bot: Any, parsed: argparse.Namespace) -> int:
    from ..database import operators

    database = bot.database
    channel = parsed.channel
    if parsed.action == "list":
        if parsed.state is not None:
            bot.dispatcher.check_state(parsed.state)
        users = operators.list_users(database, parsed.state, channel)
        if parsed.json:
            print(json.dumps(users, indent=2))
        else:
            for user in users:
                print(f"{user['id']}\t{user['channel']}\t{user['state']}")
    elif parsed.action == "show":
        user = operators.show_user(database, parsed.id, channel)
        if parsed.json:
            print(json.dumps(user, indent=2, default=str))
        else:
            print(f"id: {user['id']}\nchannel: {user['channel']}\nstate: {user['state']}")
            for name, value in sorted(user["arguments"].items()):
                print(f"argument {name} = {json.dumps(value)}")
            for move in user["transitions"]:
                print(f"{move['at']}: {move['from'] or '(new)'} -> {move['to']}")
            print(
                f"handled messages: {user['handled_messages']}, "
                f"delivery failures: {user['delivery_failures']}"
            )
            if user["shared_with"]:
                print(
                    "the id is a user on " + ", ".join(user["shared_with"]) + " too: "
                    "transitions and counts above are theirs as well"
                )
    elif parsed.action == "set-state":
        before = operators.set_state(database, bot.dispatcher, parsed.id, parsed.state, channel)
        print(f"{parsed.id}: {before} -> {parsed.state} (no handler ran)")
    elif parsed.action == "reset":
        operators.reset_user(database, parsed.id, bot.initial_state, channel)
        print(f"{parsed.id}: reset to {bot.initial_state}, arguments removed")
    else:
        deleted = operators.delete_user(database, parsed.id, channel)
        rows = ", ".join(f"{table} {count}" for table, count in deleted.items() if count)
        print(f"{parsed.id}: erased ({rows})")
        others = [u["channel"] for u in operators.list_users(database) if u["id"] == parsed.id]
        if others:
            print(
                f"{parsed.id}: transitions, handled messages and delivery failures kept: "
                f"the id is a user on {', '.join(others)} too (they store the id alone); "
                "erasing that user removes them"
            )
    return 0


def add_commands(command: Any) -> None:
    users = command("users", run_users, "list, show, move, reset or erase users")
    users.add_argument(
        "words",
        nargs=argparse.REMAINDER,
        metavar="[CONFIG] ACTION ...",
        help=f"actions: {', '.join(ACTIONS)} (CONFIG defaults to {DEFAULT_CONFIG})",
    )
