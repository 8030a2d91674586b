"""A project's transcripts: finding the ``*.chat.yaml`` files and running them all.

``chatbotmaker test`` and the studio's "run tests" both go through here, so the two always
agree on which files are a project's tests and on how they are run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from .model import SUFFIX
from .runner import Runner, TranscriptResult

#: folders never searched for transcripts
SKIPPED = {"node_modules", "__pycache__", "site-packages"}


def find_transcripts(paths: Iterable[Path]) -> list[Path]:
    """Each path as given when a file, else every ``*.chat.yaml`` under it, sorted; hidden
    folders (``.venv``, ``.git``) and installed packages are skipped, and a file reached
    twice (two overlapping paths) is listed once."""
    seen: set[Path] = set()
    files: list[Path] = []
    for path in paths:
        found = [path] if path.is_file() else sorted(path.rglob(f"*{SUFFIX}"))
        for file in found:
            parts = file.relative_to(path).parts[:-1] if file != path else ()
            if any(p.startswith(".") or p in SKIPPED for p in parts):
                continue
            if file.resolve() not in seen:
                seen.add(file.resolve())
                files.append(file)
    return files


def run_transcripts(files: Iterable[Path], runner: Runner) -> Iterator[TranscriptResult]:
    """Run the files one by one with ``runner``, yielding each result as soon as it is known
    (the command line prints them as they come)."""
    for path in files:
        yield runner.run_file(path)


def run_project(config_path: str | Path) -> list[TranscriptResult]:
    """Every transcript under the config's folder, run against that config (a transcript's
    own ``config:`` still wins); ``[]`` when the project has none."""
    config = Path(config_path)
    runner = Runner(default_config=config)
    return list(run_transcripts(find_transcripts([config.parent]), runner))
