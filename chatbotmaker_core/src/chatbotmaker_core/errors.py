"""Exceptions raised by chatbotmaker.

Every error says what is at fault (the state, key, plugin or environment variable) and, where
it can, what would fix it. They all derive from :class:`ChatbotmakerError` so an application
can catch the framework's errors in one place.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ChatbotmakerError(Exception):
    """Base class of every error chatbotmaker raises on purpose."""


class ConfigError(ChatbotmakerError, ValueError):
    """The configuration (file, dispatcher rules or bot options) is invalid.

    ``problems`` holds every problem found when validation collected more than one.
    """

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        self.problems = list(problems) or [message]
        super().__init__(message)


class UnknownPluginError(ConfigError, LookupError):
    """No installed plugin registers a component of that kind under that name."""

    def __init__(
        self,
        kind: str,
        name: str,
        available: Iterable[str],
        failed: Iterable[str] = (),
        disabled: Iterable[str] = (),
    ) -> None:
        self.kind, self.name = kind, name
        self.available = sorted(available)
        self.failed = list(failed)
        self.disabled = list(disabled)
        message = f"unknown {kind} {name!r}; available: {', '.join(self.available) or 'none'}"
        if self.failed:
            message += f"; failed to load: {', '.join(self.failed)}"
        if self.disabled:
            message += f"; disabled: {', '.join(self.disabled)}"
        super().__init__(message)


class PluginConflictError(ConfigError):
    """Two plugins register the same component name."""


class UnknownStateError(ChatbotmakerError, LookupError):
    """``change_state`` (or the bot config) names a state the dispatcher does not have."""

    def __init__(self, state: str, known: Iterable[str]) -> None:
        self.state = state
        self.known = sorted(known)
        message = f"unknown state {state!r}; known states: {', '.join(self.known)}"
        super().__init__(message + did_you_mean(state, self.known))

    def __str__(self) -> str:  # LookupError would repr() the message
        return str(self.args[0])


class DeliveryError(ChatbotmakerError):
    """A messenger could not deliver a message.

    Messengers raise it from ``send``; ``transient`` tells delivery whether trying again may
    help (rate limit, 5xx, connection error) and ``retry_after`` how long the platform asked us
    to wait, in seconds.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        retry_after: float | None = None,
        code: int | str | None = None,
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after
        self.code = code


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ``""`` when none is close."""
    hint = suggest(word, choices)
    return f" (did you mean {hint!r}?)" if hint else ""


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to a misspelt ``word``, if one is close enough."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None
