"""Registers messengers ``facebook``, ``instagram`` and ``whatsapp`` (their ``[messenger]``
options are their constructors'), and the ``profile`` command."""

from __future__ import annotations

from chatbotmaker_core import RegisterMessenger, hookimpl
from chatbotmaker_core.hookspecs import RegisterCommand

from .instagram import InstagramMessenger
from .messenger import FacebookMessenger
from .whatsapp import WhatsAppMessenger


@hookimpl
def register_messengers(register: RegisterMessenger) -> None:
    register("facebook", FacebookMessenger)
    register("instagram", InstagramMessenger)
    register("whatsapp", WhatsAppMessenger)


@hookimpl
def register_commands(register: RegisterCommand) -> None:
    from .commands import PROFILE_HELP, configure_profile, run_profile

    register("profile", run_profile, help=PROFILE_HELP, configure=configure_profile)
