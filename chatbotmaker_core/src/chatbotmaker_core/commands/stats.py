"""``chatbotmaker stats [CONFIG] [--since DURATION] [--json]``: what users do, from the
recorded state changes."""

from __future__ import annotations

import argparse
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from .users import operator_bot

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def duration(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d``, ``2w``: an argparse type."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration; write a number and a unit: 90s, 30m, 12h, 7d, 2w"
        )
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def run_stats(args: argparse.Namespace) -> int:
    from ..database.operators import statistics

    since = None if args.since is None else datetime.now(timezone.utc) - args.since
    bot = operator_bot(args.config)
    try:
        stats = statistics(bot.database, since)
    finally:
        bot.database.dispose()
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print("users now in each state:")
    for state, count in stats["users_per_state"].items():
        print(f"  {state}: {count}")
    print("entries per state:")
    for state, count in stats["entries_per_state"].items():
        print(f"  {state}: {count}")
    print("transitions:")
    for move in stats["transitions"]:
        print(f"  {move['from'] or '(new)'} -> {move['to']}: {move['count']}")
    print("drop-off (users whose last state is):")
    for state, count in stats["drop_off"].items():
        print(f"  {state}: {count}")
    return 0


def add_commands(command: Any, config_argument: Any) -> None:
    stats = command("stats", run_stats, "users per state, entries, transitions, drop-off")
    config_argument(stats)
    stats.add_argument("--since", type=duration, help="only changes this recent: 30m, 12h, 7d")
    stats.add_argument("--json", action="store_true", help="one JSON object")
