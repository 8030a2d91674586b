"""The module the ``chatbotmaker`` entry point names: registers messenger ``acme``.

Keep this module light: chatbotmaker imports it whenever it looks plugins up, for every bot on
the machine, not only those that use Acme.
"""

from __future__ import annotations

from chatbotmaker_core import hookimpl

from .messenger import AcmeMessenger


@hookimpl
def register_messengers(register) -> None:  # type: ignore[no-untyped-def]
    """``[messenger] name = "acme"`` builds ``AcmeMessenger(**the other keys of the table)``."""
    register("acme", AcmeMessenger)
