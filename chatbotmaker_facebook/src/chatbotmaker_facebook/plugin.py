"""Registers messenger ``facebook``: its ``[messenger]`` options are FacebookMessenger's."""

from __future__ import annotations

from chatbotmaker_core import RegisterMessenger, hookimpl

from .messenger import FacebookMessenger


@hookimpl
def register_messengers(register: RegisterMessenger) -> None:
    register("facebook", FacebookMessenger)
