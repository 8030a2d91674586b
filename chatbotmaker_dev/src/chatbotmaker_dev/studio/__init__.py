"""The studio (``chatbotmaker studio``): a local web page to chat with a bot, see its diagram
and edit its flow; see docs/studio.md. Nothing heavy is imported here: the CLI imports
``studio.cli`` on every run."""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any) -> Any:
    """The studio's Flask app (see :func:`chatbotmaker_dev.studio.app.create_app`)."""
    from .app import create_app as create

    return create(*args, **kwargs)


__all__ = ["create_app"]
