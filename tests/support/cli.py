"""Running ``chatbotmaker`` in tests: in-process through ``main`` or as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from chatbotmaker_core.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
CHATBOTMAKER = Path(sys.executable).with_name("chatbotmaker")


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    """``(exit status, stdout, stderr)`` of ``main(argv)``; argparse's exits included."""
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def run(*args: str, stdin: str | bytes = "", env: dict[str, str] | None = None, python=None):
    """The installed ``chatbotmaker`` command (or ``python -c`` code) in a subprocess."""
    command = [sys.executable, "-c", python, *args] if python else [str(CHATBOTMAKER), *args]
    return subprocess.run(
        command,
        input=stdin.encode() if isinstance(stdin, str) else stdin,
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(FIXTURES), **(env or {})},
    )


def write_config(
    folder: Path, url: str, *, rules: str = "cli_rules:RULES", extra: str = ""
) -> Path:
    config = folder / "chatbotmaker.toml"
    config.write_text(
        f'{extra}\n[messenger]\nname = "dev"\n'
        f'[database]\nname = "sqlalchemy"\nurl = "{url}"\n'
        f'[rules]\nname = "python"\nsource = "{rules}"\n'
    )
    return config
