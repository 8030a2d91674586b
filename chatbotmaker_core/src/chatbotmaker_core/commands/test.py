"""``chatbotmaker test [CONFIG] [PATH ...]``: run ``*.chat.yaml`` transcripts (DESIGN §12).

Every transcript runs, each on its own throwaway database; a failure prints its file, line,
step and a diff of the replies. The last line counts them; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import DEFAULT_CONFIG
from ..errors import ChatbotmakerError
from .queue import UsageError


def run_test(args: argparse.Namespace) -> int:
    # the engine: not needed for --help
    from ..transcripts import SUFFIX, Coverage, Runner, find_transcripts, run_transcripts

    config, paths = _split(args.targets)
    if config is None and not paths:
        config = Path(DEFAULT_CONFIG)
        if not config.is_file():
            raise ChatbotmakerError(
                f"no {DEFAULT_CONFIG} here; pass a config or transcript paths "
                f"(chatbotmaker test path/to/{DEFAULT_CONFIG})"
            )
    if config is not None and not config.is_file():
        raise ChatbotmakerError(f"config file {str(config)!r} not found; pass its path")
    files = find_transcripts(paths or [config.parent])  # type: ignore[union-attr]
    if not files:
        where = ", ".join(str(p) for p in paths) if paths else str(config.parent)  # type: ignore[union-attr]
        raise ChatbotmakerError(
            f"no *{SUFFIX} transcripts under {where}; write one (docs/testing.md)"
        )
    runner = Runner(default_config=config)
    passed = failed = 0
    for result in run_transcripts(files, runner):
        path = result.path
        if result.passed:
            passed += 1
            print(f"PASS {result.name} ({path}, {result.steps_run} steps)")
            continue
        failed += 1
        print(f"FAIL {result.name} ({path})")
        print(result.error if result.error else result.failure.render())  # type: ignore[union-attr]
    if args.coverage:
        for config_path, factory in runner.factories.items():
            print(Coverage.of(config_path, factory.graph, factory.trace).render())
    print(f"{passed} passed, {failed} failed")
    sys.stdout.flush()
    return 1 if failed else 0


def _split(targets: list[str]) -> tuple[Path | None, list[Path]]:
    """The config (the one argument ending in ``.toml``) and the transcript paths."""
    configs = [t for t in targets if t.endswith(".toml")]
    if len(configs) > 1:
        raise UsageError(f"give at most one config, got {', '.join(configs)}")
    paths = [Path(t) for t in targets if not t.endswith(".toml")]
    for path in paths:
        if not path.exists():
            raise ChatbotmakerError(f"{path}: no such transcript or folder")
    return (Path(configs[0]) if configs else None), paths
