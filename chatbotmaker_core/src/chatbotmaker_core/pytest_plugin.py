"""The pytest plugin of chatbotmaker-core (entry point ``pytest11``), DESIGN §12.

* Every ``*.chat.yaml`` file is one test item, named by its ``name``; a failure shows the
  same report as ``chatbotmaker test`` (file:line, step, diff of the replies).
* The ``bot`` fixture is a :class:`~chatbotmaker_core.testing.BotHarness` on a throwaway
  SQLite database with the rules of a config, found in this order: the test's
  ``@pytest.mark.chatbotmaker(config="path")`` (relative to the test file), the ini option
  ``chatbotmaker_config`` (relative to the rootdir), the nearest ``chatbotmaker.toml`` at or
  above the test file.

The config of a transcript is its ``config:`` key, else ``chatbotmaker_config``, else the
nearest ``chatbotmaker.toml`` above it. The rules of each config are built once per session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .errors import ChatbotmakerError
from .testing import BotHarness
from .transcripts import SUFFIX, Runner, TranscriptError, find_config, load_transcript
from .transcripts.model import Transcript

_RUNNER = pytest.StashKey[Runner]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "chatbotmaker_config",
        "chatbotmaker.toml for the bot fixture and transcripts without 'config:' "
        "(default: the nearest one above the test)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "chatbotmaker(config): the chatbotmaker.toml whose rules the bot fixture uses"
    )
    configured = config.getini("chatbotmaker_config")
    default = (config.rootpath / configured) if configured else None
    config.stash[_RUNNER] = Runner(default_config=default)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name.endswith(SUFFIX):
        return TranscriptFile.from_parent(parent, path=file_path)
    return None


class TranscriptFailed(AssertionError):
    """A transcript's step failed; the message is the whole report."""


class TranscriptFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            transcript = load_transcript(self.path)
        except TranscriptError as error:  # still one item, failing with the line at fault
            yield TranscriptItem.from_parent(self, name=self.path.name, error=str(error))
            return
        yield TranscriptItem.from_parent(self, name=transcript.name, transcript=transcript)


class TranscriptItem(pytest.Item):
    def __init__(
        self, *, transcript: Transcript | None = None, error: str | None = None, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.transcript = transcript
        self.error = error

    def runtest(self) -> None:
        if self.error is not None:
            raise TranscriptFailed(self.error)
        assert self.transcript is not None
        result = self.config.stash[_RUNNER].run(self.transcript)
        if result.error is not None:
            raise TranscriptFailed(result.error)
        if result.failure is not None:
            raise TranscriptFailed(result.failure.render())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, TranscriptFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"transcript: {self.name}"


@pytest.fixture
def bot(request: pytest.FixtureRequest) -> Iterator[BotHarness]:
    """A :class:`BotHarness` with the rules of the test's config, on a throwaway database."""
    runner = request.config.stash[_RUNNER]
    marker = request.node.get_closest_marker("chatbotmaker")
    if marker is not None and (marker.kwargs.get("config") or marker.args):
        path = Path(request.path).parent / (marker.kwargs.get("config") or marker.args[0])
    elif runner.default_config is not None:
        path = runner.default_config
    else:
        try:
            path = find_config(Path(request.path))
        except ChatbotmakerError as error:
            pytest.fail(str(error), pytrace=False)
    try:
        factory = runner.factory(path.resolve())
    except ChatbotmakerError as error:
        pytest.fail(f"bot fixture: {error}", pytrace=False)
    harness = factory.harness("tester")
    try:
        yield harness
    finally:
        harness.close()
