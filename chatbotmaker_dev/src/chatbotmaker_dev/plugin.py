"""Registers messenger ``dev``."""

from chatbotmaker_core import RegisterMessenger, hookimpl

from .messenger import DevMessenger


@hookimpl
def register_messengers(register: RegisterMessenger) -> None:
    register("dev", DevMessenger)
