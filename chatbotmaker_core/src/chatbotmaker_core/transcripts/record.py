"""``chatbotmaker chat --record FILE``: the session written as a transcript that passes when
run: every reply of each message as ``expect``, and the state after it."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..bot import TurnResult
from ..errors import ChatbotmakerError
from ..message import Message, Reply
from .model import SUFFIX


class Recorder:
    """Collects the steps of a chat; :meth:`write` saves them as ``*.chat.yaml``."""

    def __init__(
        self, path: str | Path, config: str | Path, user: str, channel: str | None = None
    ) -> None:
        self.path = Path(path)
        if not self.path.resolve().parent.is_dir():
            raise ChatbotmakerError(
                f"--record {path}: folder {str(self.path.resolve().parent)!r} does not exist; "
                f"create it or record elsewhere"
            )
        self.config = Path(config)
        self.user = user
        self.channel = channel  # written when ``chat --channel`` chose one
        self.steps: list[CommentedMap] = []
        self._last: list[Reply] = []

    def add(self, message: Message, result: TurnResult, state: str | None) -> None:
        step = CommentedMap()
        title = _title(self._last, message) if message.kind != "text" else None
        if title is not None:
            step["tap"] = title
        else:
            step["say"] = message.text or ""
        expect = [_reply(r) for r in result.replies]
        step["expect"] = expect if expect else _flow([])  # `expect: []`: no reply
        if result.error is not None:
            step["error"] = True
        if state is not None:
            step["state"] = state
        self.steps.append(step)
        self._last = list(result.replies)

    def dump(self) -> str:
        name = self.path.name
        name = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else self.path.stem
        document = CommentedMap()
        document["name"] = name.replace("_", " ")
        folder = self.path.resolve().parent
        document["config"] = os.path.relpath(self.config.resolve(), folder).replace(os.sep, "/")
        document["user"] = self.user
        if self.channel is not None:
            document["channel"] = self.channel
        document["steps"] = self.steps
        yaml = YAML(typ="rt")
        yaml.width = 4096  # a long reply stays on one line
        yaml.indent(mapping=2, sequence=4, offset=2)
        out = io.StringIO()
        out.write("# Recorded by `chatbotmaker chat --record`; run with `chatbotmaker test`.\n")
        yaml.dump(document, out)
        return out.getvalue()

    def write(self) -> None:
        self.path.write_text(self.dump(), encoding="utf-8")


def _title(replies: list[Reply], message: Message) -> str | None:
    """The title of the option tapped (a typed number picks one in ``chat``)."""
    for reply in replies:
        for option in reply.quick_replies + reply.buttons:
            if (option.payload or option.title) == message.payload:
                return option.title
    return None


def _reply(reply: Reply) -> Any:
    if not reply.quick_replies and not reply.buttons:
        return reply.text
    shown = CommentedMap(text=reply.text)
    if reply.quick_replies:
        shown["quick_replies"] = _flow([_option(q) for q in reply.quick_replies])
    if reply.buttons:
        shown["buttons"] = _flow([_option(b) for b in reply.buttons])
    return shown


def _option(option: Any) -> Any:
    """The title alone when tapping it sends the title; else ``{title, payload}`` / ``url``."""
    url = getattr(option, "url", None)
    if (option.payload is None or option.payload == option.title) and url is None:
        return option.title
    shown = CommentedMap(title=option.title)
    if option.payload is not None:
        shown["payload"] = option.payload
    if url is not None:
        shown["url"] = url
    shown.fa.set_flow_style()
    return shown


def _flow(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq
