"""Registers messenger ``facebook``: its ``[messenger]`` options are FacebookMessenger's."""

from __future__ import annotations

from chatbotmaker_core import hookimpl
from chatbotmaker_core.hookspecs import Register

from .messenger import FacebookMessenger


@hookimpl
def register_messengers(register: Register) -> None:
    register("facebook", FacebookMessenger)
