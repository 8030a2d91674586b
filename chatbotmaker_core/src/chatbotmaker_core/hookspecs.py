"""The plugin interface: the hooks a chatbotmaker plugin implements, the kinds of component
they register, and the type of each hook's ``register`` callback.

Each component hook receives a ``register(name, factory)`` callback; ``factory(**options)``
builds the component from the options of its config table (everything but ``name``).
``register_commands`` receives ``register(name, run, help=..., configure=...)`` and adds a
``chatbotmaker`` subcommand. The spec marker is private: plugins only need ``hookimpl``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

from .dispatcher import Dispatcher
from .messenger import Messenger

if TYPE_CHECKING:
    from .database import Database

PROJECT = "chatbotmaker"
_hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class ComponentKind:
    """A kind of component a config selects by name: its name in messages and listings, the
    hook that registers it, and the config table that selects it."""

    name: str
    hook: str
    table: str


MESSENGER = ComponentKind("messenger", "register_messengers", "messenger")
DATABASE = ComponentKind("database", "register_databases", "database")
RULE_SOURCE = ComponentKind("rule_source", "register_rule_sources", "rules")
#: every component kind, in the order a config's tables are built
COMPONENT_KINDS = (MESSENGER, DATABASE, RULE_SOURCE)
#: the name commands go by in a plugin's ``registers``, and their hook
COMMAND = "command"
COMMAND_HOOK = "register_commands"

#: the callback of any component hook: ``register(name, factory)``
Register = Callable[[str, Callable[..., Any]], None]
RegisterMessenger = Callable[[str, Callable[..., Messenger]], None]
RegisterDatabase = Callable[[str, Callable[..., "Database"]], None]
RegisterRuleSource = Callable[[str, Callable[..., Dispatcher]], None]

#: a command's body: gets the parsed arguments, returns the exit status
RunCommand = Callable[[argparse.Namespace], int]
#: adds a command's arguments to its (sub)parser
ConfigureCommand = Callable[[argparse.ArgumentParser], None]


class RegisterCommand(Protocol):
    """``register(name, run, help="...", configure=None)``: adds ``chatbotmaker NAME``."""

    def __call__(
        self,
        name: str,
        run: RunCommand,
        help: str = "",
        configure: ConfigureCommand | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class Command:
    """A command a plugin adds, as given to ``register``."""

    name: str
    run: RunCommand
    help: str = ""
    configure: ConfigureCommand | None = None


@_hookspec
def register_messengers(register: RegisterMessenger) -> None:
    """Register messenger factories: ``register("facebook", FacebookMessenger)``."""


@_hookspec
def register_databases(register: RegisterDatabase) -> None:
    """Register database factories: ``register("sqlalchemy", factory)``."""


@_hookspec
def register_rule_sources(register: RegisterRuleSource) -> None:
    """Register rule sources, factories returning a ``Dispatcher``: ``register("python", f)``."""


@_hookspec
def register_commands(register: RegisterCommand) -> None:
    """Add ``chatbotmaker`` commands: ``register("studio", run_studio, help="...",
    configure=add_studio_arguments)``; ``configure(parser)`` adds the command's arguments,
    ``run(args)`` returns the exit status."""
