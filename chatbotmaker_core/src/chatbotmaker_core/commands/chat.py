"""``chatbotmaker chat``: talk to a bot in the terminal, whatever its config deploys it on.

The turns always run inline, in this process, and every reply goes through the ``dev``
messenger to standard output: a production config (``mode = "queued"``, the facebook
messenger) must never reach the platform's users from a developer's terminal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from ..config import build_component, label, load_config, messenger_tables
from ..errors import ChatbotmakerError, UnknownPluginError
from ..message import Message
from ..plugins import get_plugin_manager

#: the stdin line that was not UTF-8, as the webhook refuses a body that is not
NOT_UTF8 = "chat: line {number} is not valid UTF-8; ignored (the bot only receives UTF-8 text)"


def terminal_bot(config_path: str, channel: str | None = None) -> Any:
    """The bot of ``config_path``, inline, with a messenger that prints to the terminal: the
    config's own when it says it does (``prints_to_terminal``), else the ``dev`` messenger.
    It talks as the users of ``channel`` (default: the config's first messenger)."""
    from ..bot import build_bot  # SQLAlchemy: imported when a command makes a bot

    config = load_config(config_path)
    # The config's messenger is built (and so checked) but only used when it prints here;
    # building one never reaches its platform.
    tables = messenger_tables(config)
    first = next(iter(tables))
    table = label(config, first)
    name = tables[first]["name"]
    messenger = (
        build_component({table: tables[first]}, table, None, "messenger") if name != "dev" else None
    )
    if not getattr(messenger, "prints_to_terminal", False):
        try:
            dev = get_plugin_manager().factory("messenger", "dev")
        except UnknownPluginError:
            raise ChatbotmakerError(
                "chat prints replies through the 'dev' messenger, which is not installed: "
                "pip install chatbotmaker-dev"
            ) from None
        messenger = dev()
    bot_table = config.get("bot")
    if isinstance(bot_table, Mapping):
        config["bot"] = {**bot_table, "mode": "inline"}
    bot = build_bot(config, messenger=messenger)
    return bot if channel is None else bot.for_channel(channel)


def run_chat(args: argparse.Namespace) -> int:
    bot = terminal_bot(args.config, getattr(args, "channel", None))
    interactive = sys.stdin.isatty()
    recorder = None
    if getattr(args, "record", None):
        from ..transcripts.record import Recorder

        recorder = Recorder(args.record, args.config, args.user, getattr(args, "channel", None))
    try:
        for text in _lines(interactive):
            if text:
                result = bot.handle(_message(bot.messenger, args.user, text))
                if recorder is not None:
                    user = bot.database.get_user(args.user, channel=bot.default_channel)
                    recorder.add(result.message, result, None if user is None else user.state)
                sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        if interactive:
            print()
        bot.database.dispose()
        if recorder is not None:
            recorder.write()
            print(f"recorded {len(recorder.steps)} steps in {args.record}", file=sys.stderr)
    return 0


def _message(messenger: Any, user_id: str, text: str) -> Message:
    """A typed number picks the option shown with it: its payload, as a tap would send."""
    picked = messenger.pick(user_id, text) if hasattr(messenger, "pick") else None
    if picked is None:
        return Message(user_id=user_id, text=text)
    kind, payload = picked
    return Message(user_id=user_id, text=payload, kind=kind, payload=payload)


def _lines(interactive: bool) -> Iterator[str]:
    """Stripped lines of stdin; a line that is not UTF-8 is refused on stderr and skipped."""
    number = 0
    while True:
        number += 1
        try:
            line = _read_line(interactive)
        except UnicodeError:
            print(NOT_UTF8.format(number=number), file=sys.stderr)
            continue
        if line is None:
            return
        yield line.strip()


def _read_line(interactive: bool) -> str | None:
    """One line of stdin (``None`` at its end), decoded as strict UTF-8.

    Piped input is read as bytes: the text layer's error handler depends on the locale
    (surrogateescape under C.UTF-8) and would hand undecodable bytes to the bot as surrogates.
    """
    if interactive:
        try:
            line = input("you > ")
        except EOFError:
            return None
        line.encode("utf-8")  # a terminal's surrogateescape'd bytes: UnicodeEncodeError
        return line
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # a text stream put in place of stdin (tests, embedding)
        line = sys.stdin.readline()
        line.encode("utf-8")
        return line or None
    raw = buffer.readline()
    return raw.decode("utf-8") if raw else None
