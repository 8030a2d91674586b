"""Registers messenger ``dev`` and the ``studio`` command."""

from chatbotmaker_core import RegisterCommand, RegisterMessenger, hookimpl

from .messenger import DevMessenger


@hookimpl
def register_messengers(register: RegisterMessenger) -> None:
    register("dev", DevMessenger)


@hookimpl
def register_commands(register: RegisterCommand) -> None:
    # The studio's modules (Flask, grandalf, ruamel.yaml) load only when the command runs.
    from .studio import cli

    register("studio", cli.run_studio, help=cli.HELP, configure=cli.configure)
