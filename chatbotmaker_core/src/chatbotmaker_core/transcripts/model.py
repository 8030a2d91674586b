"""Reading ``*.chat.yaml`` transcripts (DESIGN §12) into plain objects, every mistake named
with its file and line, so a broken transcript is fixed as quickly as a broken test."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from ..errors import ChatbotmakerError, did_you_mean

SUFFIX = ".chat.yaml"
TOP_KEYS = ("name", "config", "user", "channel", "steps")
STEP_KEYS = ("say", "tap", "redeliver", "expect", "state", "args", "error")
REPLY_KEYS = ("text", "quick_replies", "buttons")
OPTION_KEYS = ("title", "payload", "url")


class TranscriptError(ChatbotmakerError):
    """A transcript that cannot be read: ``file:line: what is wrong; how to fix it``."""


@dataclass(frozen=True)
class Option:
    """An expected quick reply or button: ``payload`` / ``url`` ``None`` means not checked."""

    title: str
    payload: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ExpectedReply:
    """One expected reply; ``quick_replies`` / ``buttons`` ``None`` means not checked."""

    text: str
    quick_replies: tuple[Option, ...] | None = None
    buttons: tuple[Option, ...] | None = None


@dataclass
class Step:
    """One message of the conversation and what must follow it."""

    number: int  # 1-based
    line: int  # 1-based line of the step in its file
    say: str | None = None
    tap: str | None = None  # the title of an option of the previous replies
    redeliver: bool = False
    expect: list[ExpectedReply] | None = None
    state: str | None = None
    args: dict[str, Any] | None = None
    error: bool = False  # a handler is expected to fail (expect then checks the apology)

    @property
    def shown(self) -> str:
        """How the step reads in a failure: ``say 'order'`` or ``tap 'large'``."""
        if self.tap is not None:
            return f"tap {self.tap!r}"
        return ("redeliver " if self.redeliver else "say ") + repr(self.say)


@dataclass
class Transcript:
    path: Path
    name: str
    steps: list[Step]
    config: Path | None = None  # resolved against the transcript's folder
    user: str = "tester"
    line: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    channel: str | None = None  # a [messengers.<table>] of the config: the user's channel
    channel_line: int = 1


def load_transcript(path: str | Path) -> Transcript:
    """The transcript in ``path``; :class:`TranscriptError` names the line of any mistake."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as error:
        raise TranscriptError(f"{path}: cannot read the transcript ({error})") from None
    return parse_transcript(text, path)


def parse_transcript(text: str, path: Path) -> Transcript:
    try:
        data = YAML(typ="rt").load(text)
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or str(error)
        raise TranscriptError(f"{where}: not valid YAML: {problem}") from None
    reader = _Reader(path)
    if not isinstance(data, CommentedMap):
        raise TranscriptError(
            f"{path}:1: a transcript is a mapping with 'name' and 'steps' (see docs/testing.md)"
        )
    reader.keys(data, TOP_KEYS, "transcript", 1)
    steps_node = data.get("steps")
    if not isinstance(steps_node, CommentedSeq) or not steps_node:
        raise TranscriptError(
            f"{reader.at(data, 'steps')}: 'steps' must be a non-empty list of steps (- say: hi)"
        )
    name = data.get("name", path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem)
    config = data.get("config")
    user = data.get("user", "tester")
    channel = data.get("channel")
    for key, value in (("name", name), ("config", config), ("user", user), ("channel", channel)):
        if value is not None and (not isinstance(value, str) or not value):
            raise TranscriptError(f"{reader.at(data, key)}: {key!r} must be a non-empty string")
    steps = [reader.step(steps_node, index) for index in range(len(steps_node))]
    for previous, step in zip(steps, steps[1:], strict=False):
        if step.redeliver and step.say is not None and step.say != previous.say:
            raise TranscriptError(
                f"{path}:{step.line}: step {step.number} redelivers the previous message "
                f"({previous.say!r}) but says {step.say!r}; drop 'say' or repeat the same text"
            )
    if steps[0].redeliver:
        raise TranscriptError(
            f"{path}:{steps[0].line}: step 1 cannot redeliver: there is no previous message"
        )
    return Transcript(
        path=path,
        name=name,
        steps=steps,
        config=(path.parent / config) if config else None,
        user=user,
        channel=channel,
        channel_line=int(reader.at(data, "channel").rsplit(":", 1)[1]) if channel else 1,
    )


class _Reader:
    """Turns ruamel nodes into objects; knows the file for ``file:line`` messages."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def at(self, node: Any, key: Any = None) -> str:
        """``file:line`` of ``node`` (or of its ``key``)."""
        line = 0
        try:
            if key is not None and isinstance(node, CommentedMap) and key in node:
                line = node.lc.key(key)[0]
            elif key is not None and isinstance(node, CommentedSeq):
                line = node.lc.item(key)[0]
            else:
                line = node.lc.line
        except (AttributeError, KeyError, TypeError, IndexError):
            pass
        return f"{self.path}:{line + 1}"

    def keys(self, node: CommentedMap, allowed: tuple[str, ...], what: str, number: Any) -> None:
        for key in node:
            if key not in allowed:
                hint = did_you_mean(str(key), allowed)
                raise TranscriptError(
                    f"{self.at(node, key)}: {what} {number}: unknown key {key!r}{hint}; "
                    f"allowed: {', '.join(allowed)}"
                    if what == "step"
                    else f"{self.at(node, key)}: unknown key {key!r}{hint}; "
                    f"allowed: {', '.join(allowed)}"
                )

    def step(self, steps: CommentedSeq, index: int) -> Step:
        node = steps[index]
        number = index + 1
        line = int(self.at(steps, index).rsplit(":", 1)[1])
        if isinstance(node, str):  # "- hi": a bare message, nothing checked
            return Step(number, line, say=node)
        if not isinstance(node, CommentedMap):
            raise TranscriptError(
                f"{self.path}:{line}: step {number} must be a mapping like '- say: hi'"
            )
        self.keys(node, STEP_KEYS, "step", number)
        where = f"{self.path}:{line}: step {number}"
        step = Step(number, line)
        for key in ("say", "tap", "state"):
            value = node.get(key)
            if value is not None and not isinstance(value, str):
                value = str(value) if isinstance(value, (int, float)) and key != "state" else value
            if value is not None and not isinstance(value, str):
                raise TranscriptError(f"{where}: {key!r} must be a string, got {value!r}")
            setattr(step, key, value)
        for key in ("redeliver", "error"):
            value = node.get(key, False)
            if not isinstance(value, bool):
                raise TranscriptError(f"{where}: {key!r} must be true or false, got {value!r}")
            setattr(step, key, value)
        given = [k for k in ("say", "tap") if node.get(k) is not None]
        if len(given) > 1:
            raise TranscriptError(f"{where}: give either 'say' or 'tap', not both")
        if not given and not step.redeliver:
            raise TranscriptError(
                f"{where}: every step needs 'say' (the user's text), 'tap' (an option's "
                f"title) or 'redeliver: true'"
            )
        if "expect" in node:
            step.expect = self.expect(node["expect"], where)
        if "args" in node:
            args = node["args"]
            if not isinstance(args, CommentedMap):
                raise TranscriptError(f"{where}: 'args' must be a mapping like {{size: large}}")
            step.args = _plain(args)
        return step

    def expect(self, value: Any, where: str) -> list[ExpectedReply]:
        if value is None:
            return []
        if isinstance(value, (str, CommentedMap)):
            value = [value]
        if not isinstance(value, list):
            raise TranscriptError(f"{where}: 'expect' must be a list of replies ([] for none)")
        return [self.reply(item, f"{where}, reply {i}") for i, item in enumerate(value, 1)]

    def reply(self, item: Any, where: str) -> ExpectedReply:
        if isinstance(item, str):
            return ExpectedReply(item)
        if not isinstance(item, CommentedMap):
            raise TranscriptError(
                f"{where}: a reply is a string or a mapping with text/quick_replies/buttons"
            )
        for key in item:
            if key not in REPLY_KEYS:
                raise TranscriptError(
                    f"{where}: unknown key {key!r}{did_you_mean(str(key), REPLY_KEYS)}; "
                    f"allowed: {', '.join(REPLY_KEYS)}"
                )
        text = item.get("text")
        if not isinstance(text, str):
            raise TranscriptError(f"{where}: 'text' is required and must be a string")
        options = {
            key: self.options(item[key], f"{where}, {key}") if key in item else None
            for key in ("quick_replies", "buttons")
        }
        return ExpectedReply(text, options["quick_replies"], options["buttons"])

    def options(self, value: Any, where: str) -> tuple[Option, ...]:
        if not isinstance(value, list):
            raise TranscriptError(f"{where}: must be a list of titles ([] for none)")
        options = []
        for item in value:
            if isinstance(item, (str, int, float)) and not isinstance(item, bool):
                options.append(Option(str(item)))
                continue
            if not isinstance(item, CommentedMap) or not isinstance(item.get("title"), str):
                raise TranscriptError(
                    f"{where}: an option is a title or {{title: .., payload: ..}}"
                )
            unknown = [k for k in item if k not in OPTION_KEYS]
            if unknown:
                raise TranscriptError(
                    f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(OPTION_KEYS)}"
                )
            options.append(Option(item["title"], item.get("payload"), item.get("url")))
        return tuple(options)


def _plain(value: Any) -> Any:
    """ruamel's round-trip containers as dicts and lists (for comparing with arguments)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
