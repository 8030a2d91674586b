"""Registers messenger ``dev``."""

from chatbotmaker_core import hookimpl

from .messenger import DevMessenger


@hookimpl
def register_messengers(register):  # type: ignore[no-untyped-def]
    register("dev", DevMessenger)
