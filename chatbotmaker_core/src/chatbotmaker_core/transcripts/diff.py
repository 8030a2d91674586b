"""Comparing a step's outcome with its expectations, and the failure a reader can act on:
which file and line, which step, what was said, and the replies as a diff."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..bot import TurnResult
from ..message import Reply
from .model import ExpectedReply, Option, Step, Transcript

_MISSING = object()


def show_text(text: str) -> str:
    """A reply's text on one line, quoted (newlines shown as ``\\n``)."""
    return json.dumps(text, ensure_ascii=False)


def _show_options(kind: str, options: Sequence[Any]) -> str:
    shown = []
    for option in options:
        title = option.title
        if option.payload is not None and option.payload != option.title:
            title += f" -> {option.payload}"
        if option.url is not None:
            title += f" <{option.url}>"
        shown.append(title)
    return f"[{kind}: {' | '.join(shown)}]"


def show_reply(reply: Reply | ExpectedReply, like: ExpectedReply | None = None) -> str:
    """One line per reply. A reply compared with an expectation shows only what it checks
    (quick replies unless the expectation leaves them out), so the diff shows real differences."""
    parts = [show_text(reply.text)]
    for kind, label in (("quick_replies", "quick replies"), ("buttons", "buttons")):
        options = getattr(reply, kind)
        if like is not None and getattr(like, kind) is None:
            continue
        if options:
            if like is not None and isinstance(reply, Reply):  # unchecked payloads: not shown
                wanted = getattr(like, kind) or ()
                options = [_as_checked(o, w) for o, w in _pairs(options, wanted)]
            parts.append(_show_options(label, options))
    return " ".join(parts)


def _pairs(got: Sequence[Any], wanted: Sequence[Option]) -> list[tuple[Any, Option | None]]:
    return [(o, wanted[i] if i < len(wanted) else None) for i, o in enumerate(got)]


def _as_checked(option: Any, wanted: Option | None) -> Option:
    if wanted is None:
        return Option(option.title, option.payload, getattr(option, "url", None))
    return Option(
        option.title,
        option.payload or option.title if wanted.payload is not None else None,
        getattr(option, "url", None) if wanted.url is not None else None,
    )


def reply_matches(got: Reply, want: ExpectedReply) -> bool:
    if got.text != want.text:
        return False
    if want.quick_replies is not None and not _options_match(got.quick_replies, want.quick_replies):
        return False
    return want.buttons is None or _options_match(got.buttons, want.buttons)


def _options_match(got: Sequence[Any], want: Sequence[Option]) -> bool:
    if len(got) != len(want):
        return False
    for option, wanted in zip(got, want, strict=False):
        if option.title != wanted.title:
            return False
        if wanted.payload is not None and (option.payload or option.title) != wanted.payload:
            return False
        if wanted.url is not None and getattr(option, "url", None) != wanted.url:
            return False
    return True


@dataclass
class StepFailure:
    """Why a step failed: its location, and the lines that explain it."""

    transcript: Transcript
    step: Step
    lines: list[str] = field(default_factory=list)

    def render(self) -> str:
        head = (
            f"{self.transcript.path}:{self.step.line}: {self.transcript.name!r} failed at "
            f"step {self.step.number} ({self.step.shown})"
        )
        return "\n".join([head, *(f"  {line}" for line in self.lines)])

    @classmethod
    def tap_not_offered(
        cls, transcript: Transcript, step: Step, replies: Sequence[Reply]
    ) -> StepFailure:
        offered = [o.title for r in replies for o in r.quick_replies + r.buttons]
        return cls(
            transcript,
            step,
            [f"no option {step.tap!r} in the previous replies (offered: {offered or 'none'})"],
        )


def replies_diff(got: Sequence[Reply], want: Sequence[ExpectedReply]) -> list[str]:
    """``- expected`` / ``+ got`` lines, the replies that match unmarked."""
    expected = [show_reply(w) for w in want]
    actual = []
    for i, reply in enumerate(got):
        like = want[i] if i < len(want) else None
        # a matching reply reads exactly as its expectation: only differences are marked
        matched = like is not None and reply_matches(reply, like)
        actual.append(expected[i] if matched else show_reply(reply, like))
    lines = [line for line in difflib.ndiff(expected, actual) if not line.startswith("?")]
    return [line if line[0] != " " else "  " + line[2:] for line in lines] or ["  (no replies)"]


def check_step(
    transcript: Transcript,
    step: Step,
    turn: TurnResult,
    state: str | None,
    arguments: Mapping[str, Any],
    state_before: str | None,
    args_before: Mapping[str, Any] | None,
) -> StepFailure | None:
    """The step's failure, or ``None`` when every expectation holds."""
    lines: list[str] = []
    if step.redeliver and not turn.duplicate:
        lines.append("the redelivered message was handled again (its id was not recognised)")
    if turn.error is not None and not step.error:
        lines.append(
            f"a handler raised {type(turn.error).__name__}: {turn.error} (the turn was rolled "
            f"back; add 'error: true' to the step if that is expected)"
        )
    elif turn.error is None and step.error:
        lines.append("expected a handler to fail ('error: true'), but the turn succeeded")
    expect = step.expect
    if expect is None and step.redeliver:
        expect = []
    if expect is not None and (
        len(turn.replies) != len(expect)
        or not all(reply_matches(g, w) for g, w in zip(turn.replies, expect, strict=False))
    ):
        lines.append("replies (- expected, + got):")
        lines.extend("  " + line for line in replies_diff(turn.replies, expect))
    if step.state is not None and state != step.state:
        lines.append(f"state: expected {step.state!r}, got {state!r}")
    if step.redeliver and state != state_before:
        lines.append(f"state changed on redelivery: {state_before!r} -> {state!r}")
    if step.args is not None:
        for name, wanted in step.args.items():
            value = arguments.get(name, _MISSING)
            if value is _MISSING:
                lines.append(f"args: {name}: expected {wanted!r}, but it is not set")
            elif value != wanted:
                lines.append(f"args: {name}: expected {wanted!r}, got {value!r}")
    if args_before is not None and dict(arguments) != dict(args_before):
        lines.append(f"arguments changed on redelivery: {dict(args_before)} -> {dict(arguments)}")
    return StepFailure(transcript, step, lines) if lines else None
