"""Argument types and hints shared by the commands: bad values are usage errors, not tracebacks.

argparse turns an ``ArgumentTypeError`` raised by a ``type=`` function into the one-line
``chatbotmaker: error: argument --port: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

#: a missing module -> the pip command that installs it
INSTALL_HINTS = {
    "psycopg": "pip install 'chatbotmaker-core[postgres]'",
    "psycopg2": "pip install 'chatbotmaker-core[postgres]' and write the URL as "
    "postgresql+psycopg://...",
    "psycopg_pool": "pip install 'chatbotmaker-core[queue]'",
    "procrastinate": "pip install 'chatbotmaker-core[queue]'",
    "chatbotmaker_dev": "pip install chatbotmaker-dev",
    "chatbotmaker_facebook": "pip install chatbotmaker-facebook",
}


def log_level(value: str) -> str:
    """A logging level name, any case: ``debug`` ... ``critical``."""
    if value.lower() not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a log level; use one of {', '.join(LOG_LEVELS)}"
        )
    return value.lower()


def port(value: str) -> int:
    """A TCP port, 1 to 65535."""
    number = _integer(value)
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port; use 1 to 65535")
    return number


def positive_int(value: str) -> int:
    """A count of at least 1 (threads, concurrency)."""
    number = _integer(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return number


def job_id(value: str) -> int:
    """A procrastinate job id (a positive integer)."""
    number = _integer(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a job id (a positive integer)")
    return number


def _integer(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None


def install_hint(error: ImportError) -> str | None:
    """``error: ...`` with the pip command for an optional dependency that is not installed."""
    name = (error.name or "").split(".")[0]
    hint = INSTALL_HINTS.get(name)
    if hint is None:
        return None
    return f"the Python module {name!r} is not installed: {hint}"


def installed_versions() -> list[tuple[str, str]]:
    """``(distribution, version)`` of every installed chatbotmaker distribution, sorted."""
    if sys.version_info >= (3, 12):
        from importlib.metadata import distributions
    else:
        from importlib_metadata import distributions

    found = {}
    for dist in distributions():
        name = dist.metadata["Name"] or ""
        if name.lower().replace("_", "-").startswith("chatbotmaker"):
            found[name] = dist.version
    return sorted(found.items())


class VersionAction(argparse.Action):
    """``--version``: the versions of the installed chatbotmaker distributions, then exit.

    Computed when asked, not when the parser is built: scanning distributions costs start-up.
    """

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        for name, version in installed_versions():
            print(f"{name} {version}")
        parser.exit(0)


def configure_logging(level: str) -> None:
    """Time, level and logger on every line, to stderr; ``level`` on the root logger.

    Every package logger (``chatbotmaker_core.*``, the CLI's ``chatbotmaker_core.cli`` among
    them, ``chatbotmaker_facebook.*``, a plugin's) sets no level of its own, so the root's
    governs them all alike. The level is set even when logging was configured before (a
    handler already on the root, where ``basicConfig`` alone would ignore ``level``).
    """
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger().setLevel(getattr(logging, level.upper()))
