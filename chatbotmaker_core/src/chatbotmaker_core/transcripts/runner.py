"""Running transcripts: each on a fresh throwaway SQLite database, with the config's rules.

The config's ``[rules]`` and ``[database]`` are built through its plugins, but the database
URL is replaced by a temporary SQLite file and the messenger by a recording one: a transcript
never reaches the config's real database or platform (its ``[messenger]`` table, and the
secrets it names, are not even read).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import (
    DEFAULT_CONFIG,
    build_component,
    in_config_folder,
    load_config,
    messenger_tables,
    tomllib,
)
from ..database import Database
from ..dispatcher import Dispatcher
from ..errors import ChatbotmakerError, ConfigError
from ..graph import Graph, graph_of
from ..message import Reply
from ..testing import BotHarness
from .diff import StepFailure, check_step
from .model import Transcript, TranscriptError
from .trace import Trace, TracingDispatcher


def find_config(start: Path) -> Path:
    """The nearest ``chatbotmaker.toml`` in ``start``'s folder or above it."""
    folder = start.resolve().parent if start.is_file() or start.suffix else start.resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / DEFAULT_CONFIG).is_file():
            return candidate / DEFAULT_CONFIG
    raise ConfigError(
        f"{start}: no {DEFAULT_CONFIG} in its folder or above; add 'config: path/to/"
        f"{DEFAULT_CONFIG}' to the transcript or pass the config to 'chatbotmaker test'"
    )


class BotFactory:
    """Builds throwaway bots from one config: the rules once, a new database per bot."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).resolve()
        raw = self._read()
        self.bot_options = {**raw.get("bot", {}), "mode": "inline"}
        database = raw.get("database")
        if not isinstance(database, Mapping) or database.get("name") != "sqlalchemy":
            raise ConfigError(
                f"{path}: transcripts run on a throwaway SQLite database and need "
                f'[database] name = "sqlalchemy" (got {dict(database or {}).get("name")!r})'
            )
        self._database_table = dict(database)
        folder = self.path.parent
        if str(folder) not in sys.path:  # rules modules sit beside their config
            sys.path.insert(0, str(folder))
        with in_config_folder(folder):
            self.dispatcher: Dispatcher = build_component(raw, "rules")
        self.graph: Graph = graph_of(self.dispatcher, self.bot_options.get("initial_state"))
        self.trace = Trace()  # every bot of this factory records into it (coverage)

    def _read(self) -> dict[str, Any]:
        """The config with ``${VAR}`` expanded, without its ``[messenger]`` (never used here)."""
        try:
            with self.path.open("rb") as file:
                raw = tomllib.load(file)
        except FileNotFoundError:
            raise ConfigError(f"config file {str(self.path)!r} not found") from None
        except (OSError, tomllib.TOMLDecodeError, UnicodeError) as error:
            raise ConfigError(f"config file {str(self.path)!r}: {error}") from None
        has_messenger = "messenger" in raw or "messengers" in raw
        #: the channels a transcript may name: the config's messenger tables
        self.channels: list[str] = list(messenger_tables(raw)) if has_messenger else []
        raw.pop("messenger", None)
        raw.pop("messengers", None)
        if isinstance(raw.get("database"), Mapping):
            raw["database"] = {**raw["database"], "url": "sqlite://"}  # replaced per bot
        return load_config(raw)

    def harness(self, user_id: str = "tester", channel: str | None = None) -> BotHarness:
        """A :class:`BotHarness` on a new temporary SQLite file, its handlers traced."""
        tmp = tempfile.TemporaryDirectory(prefix="chatbotmaker-transcript-")
        options = {**self._database_table, "url": f"sqlite:///{Path(tmp.name) / 'bot.db'}"}
        options.pop("name")
        with in_config_folder(self.path.parent):
            database: Database = build_component(
                {"database": {"name": "sqlalchemy", **options}}, "database"
            )
        harness = BotHarness(
            TracingDispatcher(self.dispatcher, self.trace),
            user_id=user_id,
            bot_config=self.bot_options,
            database=database,
            channel=channel,
        )
        harness._tmp = tmp  # removed with the harness
        return harness


@dataclass
class TranscriptResult:
    transcript: Transcript | None
    path: Path
    failure: StepFailure | None = None
    error: str | None = None  # the transcript or its config could not be loaded
    steps_run: int = 0
    config: Path | None = None

    @property
    def passed(self) -> bool:
        return self.failure is None and self.error is None

    @property
    def name(self) -> str:
        return self.transcript.name if self.transcript else self.path.name


@dataclass
class Runner:
    """Runs transcripts, one :class:`BotFactory` per config (the rules built once each)."""

    default_config: Path | None = None
    factories: dict[Path, BotFactory] = field(default_factory=dict)

    def config_for(self, transcript: Transcript) -> Path:
        if transcript.config is not None:
            return transcript.config.resolve()
        if self.default_config is not None:
            return self.default_config.resolve()
        return find_config(transcript.path)

    def factory(self, config: Path) -> BotFactory:
        if config not in self.factories:
            self.factories[config] = BotFactory(config)
        return self.factories[config]

    def run_file(self, path: Path) -> TranscriptResult:
        from .model import load_transcript

        try:
            transcript = load_transcript(path)
        except TranscriptError as error:
            return TranscriptResult(None, path, error=str(error))
        return self.run(transcript)

    def run(self, transcript: Transcript) -> TranscriptResult:
        result = TranscriptResult(transcript, transcript.path)
        try:
            result.config = self.config_for(transcript)
            factory = self.factory(result.config)
        except ChatbotmakerError as error:
            result.error = f"{transcript.path}: {error}"
            return result
        channel = transcript.channel
        if channel is not None and channel not in factory.channels:
            result.error = (
                f"{transcript.path}:{transcript.channel_line}: channel {channel!r} is not a "
                f"messenger of {result.config}; its channels: "
                f"{', '.join(factory.channels) or '(none)'} (the [messengers.<name>] tables)"
            )
            return result
        if channel is None and factory.channels:  # as `chat` does: the first messenger's
            channel = factory.channels[0]
        harness = factory.harness(transcript.user, channel)
        try:
            result.failure = run_steps(harness, transcript, result)
        finally:
            harness.close()
        return result


def run_steps(
    harness: BotHarness, transcript: Transcript, result: TranscriptResult
) -> StepFailure | None:
    """Run the steps in order; the first failing one ends the transcript (the next depend on it)."""
    previous: Any = None
    replies: list[Reply] = []
    for step in transcript.steps:
        # Read only what the step checks: two queries a step would double a run's time.
        state_before = harness.state if step.redeliver else None
        args_before = harness.arguments if step.redeliver else None
        if step.redeliver:
            message = previous
            turn = harness.bot.handle(message)
        else:
            text, extra = step.say, {}
            if step.tap is not None:
                picked = _pick(replies, step.tap)
                if picked is None:
                    return StepFailure.tap_not_offered(transcript, step, replies)
                text, extra = picked[1], {"kind": picked[0], "payload": picked[1]}
            assert text is not None  # a step says, taps or redelivers (model.py checks)
            harness.say(text, message_id=f"transcript-{step.number}", allow_errors=True, **extra)
            assert harness.last is not None  # say() sets it
            turn = harness.last
            message = turn.message
        previous = message
        replies = list(turn.replies)
        result.steps_run = step.number
        failure = check_step(
            transcript,
            step,
            turn,
            harness.state if step.state is not None or step.redeliver else None,
            harness.arguments if step.args is not None or step.redeliver else {},
            state_before,
            args_before,
        )
        if failure is not None:
            return failure
    return None


def _pick(replies: list[Reply], title: str) -> tuple[str, str] | None:
    """``(kind, payload)`` of the option titled ``title`` among the last replies."""
    for reply in replies:
        for quick in reply.quick_replies:
            if quick.title == title:
                return "quick_reply", quick.payload or quick.title
        for button in reply.buttons:
            if button.title == title and (button.payload is not None or button.url is None):
                return "postback", button.payload or button.title
    return None
