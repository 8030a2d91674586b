"""``chatbotmaker plugins``, and the commands plugins add through ``register_commands``.

A plugin's command is built on a parser of its own first, so a ``configure`` that raises
leaves nothing half-added: the plugin is recorded as failed (``chatbotmaker plugins`` shows
why) and the rest of the command line works.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence

from ..hookspecs import Command
from ..plugins import get_plugin_manager

#: adds one command: (name, run, help, parents) -> its parser
AddCommand = Callable[..., argparse.ArgumentParser]


def wants_plugin_commands(argv: Sequence[str], builtin: set[str]) -> bool:
    """Whether parsing ``argv`` needs the plugins' commands: not for a built-in command (which
    loads plugins itself only if it needs them, after logging is set up, and keeps start-up
    short), but for ``--help``, no command, or a command that is not built in."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word == "--log-level":
            skip = True
        elif not word.startswith("-"):
            return word not in builtin
    return True


def add_plugin_commands(add: AddCommand, builtin: set[str]) -> None:
    """Add each plugin's commands with ``add``; a command that cannot be added fails its
    plugin (recorded, like a hook that raises), never the command line."""
    manager = get_plugin_manager()
    for name, (command, info) in sorted(manager.commands().items()):
        if name in builtin:
            manager.fail(
                info,
                f"register_commands: {name!r} is a built-in command of chatbotmaker; "
                f"register the command under another name",
            )
            continue
        try:
            own = _own_parser(command)
        except Exception as exc:  # noqa: BLE001 - a plugin's bug is its own failure
            manager.fail(info, f"{type(exc).__name__} in register_commands ({name!r}): {exc}")
            continue
        add(name, command.run, command.help, parents=[own])


def _own_parser(command: Command) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"chatbotmaker {command.name}", add_help=False)
    if command.configure is not None:
        command.configure(parser)
    return parser


def run_plugins(args: argparse.Namespace) -> int:
    manager = get_plugin_manager()
    conflicts = manager.conflicts
    plugins = [p.as_dict() for p in manager.plugins]
    if args.json:
        error = "; ".join(conflicts) or None
        print(json.dumps({"plugins": plugins, "error": error}, indent=2))
    else:
        for plugin in plugins:
            where = f"{plugin['distribution'] or '?'} {plugin['version'] or ''}".strip()
            print(f"{plugin['entry_point']} ({where}) = {plugin['module']}")
            if plugin["disabled"]:
                print("    disabled (CHATBOTMAKER_DISABLED_PLUGINS)")
            if plugin["error"]:
                print(f"    failed to load: {plugin['error']}")
            for kind, names in sorted(plugin["registers"].items()):
                print(f"    {kind}: {', '.join(names)}")
        for conflict in conflicts:
            print(f"error: {conflict}")
    return 1 if conflicts else 0
