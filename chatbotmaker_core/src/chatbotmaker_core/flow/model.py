"""A loaded flow: its states, blocks and routes, each knowing where it was written."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .templates import Text
from .yamlnodes import Document


@dataclass
class Block:
    """The actions of ``enter``, ``prompt``, ``leave`` or a route, run in a fixed order:
    store, call, say, quick_replies / buttons, go."""

    path: tuple[Any, ...]
    store: dict[str, Any] = field(default_factory=dict)  # name -> Text, or a plain value
    call: Callable[..., Any] | None = None
    call_name: str | None = None
    say: list[Text] = field(default_factory=list)
    quick_replies: list[Text] = field(default_factory=list)
    buttons: list[Text] = field(default_factory=list)
    go: str | None = None


@dataclass
class Route(Block):
    """A block with a condition: ``match`` (normalised texts) or ``regex``; neither: always."""

    match: tuple[str, ...] | None = None
    regex: re.Pattern[str] | None = None

    @property
    def catch_all(self) -> bool:
        return self.match is None and self.regex is None

    @property
    def label(self) -> str | None:
        """What the diagram writes on this route's arrow: ``order``, ``help | ?``,
        ``/^(?P<count>\\d+)$/``; ``None`` for a catch-all."""
        if self.regex is not None:
            return f"/{self.regex.pattern}/"
        if self.match is not None:
            return " | ".join(self.raw_match)
        return None

    raw_match: tuple[str, ...] = ()


@dataclass
class State:
    name: str
    enter: Block | None = None
    prompt: Block | None = None
    leave: Block | None = None
    routes: list[Route] = field(default_factory=list)
    end: bool = False


@dataclass
class Flow:
    """A flow file, validated: what the compiler and the graph read."""

    document: Document
    states: dict[str, State]
    start: str | None = None

    @property
    def file(self) -> str:
        return self.document.file
