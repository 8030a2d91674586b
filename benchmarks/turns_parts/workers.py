"""The contenders' worker processes, as the driver sees them, and the 0.0.13 virtualenv.

A worker (``benchmarks/contenders/``) reads one JSON command per line and answers one line;
:class:`WorkerProcess` is the driver's end of that pipe. 0.0.13 runs from a virtualenv of its
own, created from the package registry on first use; ``--compare-rev`` runs ours as of a git
revision.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent.parent
ROOT = BENCHMARKS.parent
SEED_VENV = BENCHMARKS / ".venv-seed"
SEED = "chatbotmaker==0.0.13"
#: 0.0.13 imports ``sqlalchemy.ext.declarative.declarative_base``, still there (deprecated) in
#: SQLAlchemy 2.0 and 2.1; it declares no upper bound, so we set one it is known to work with.
#: ``--seed-sqlalchemy '<2'`` runs it on 1.4 instead (in a virtualenv of its own).
SEED_SQLALCHEMY = ">=2.0,<2.2"
#: the driver 0.0.13 gets on PostgreSQL (SQLAlchemy 2's ``postgresql+psycopg``), as ours has
SEED_DRIVER = "psycopg[binary]"


@dataclass
class Contender:
    key: str
    label: str
    module: str
    python: str
    env: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)  # put before the benchmark's own on sys.path


class WorkerProcess:
    """A contender's worker: one JSON command per line in, one JSON answer per line out."""

    def __init__(self, contender: Contender, cwd: Path, nice: int = 0) -> None:
        self.contender = contender
        path = os.pathsep.join([*contender.path, str(BENCHMARKS)])
        env = {**os.environ, **contender.env, "PYTHONPATH": path}
        self.process = subprocess.Popen(
            [contender.python, "-m", contender.module],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=(lambda: _renice(nice)) if nice else None,
        )

    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.contender.label}: worker exited ({self.process.wait()})")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{self.contender.label}: {cmd} failed:\n{answer['error']}")
        return answer

    def close(self) -> None:
        """Ask the worker to quit; kill it if it cannot be asked (Ctrl-C) or does not."""
        if self.process.poll() is None:
            assert self.process.stdin
            try:
                self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.process.stdin.close()
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


def _renice(increment: int) -> None:
    """In the worker before it starts: change its priority, if allowed (negative needs root)."""
    try:
        os.nice(increment)
    except OSError:
        pass


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_seed_venv(venv: Path, sqlalchemy: str) -> str:
    """The 0.0.13 virtualenv, created (and 0.0.13 installed from the registry) on first use."""
    python = venv_python(venv)
    stamp = venv / "requirements.txt"
    requirements = [SEED, f"sqlalchemy{sqlalchemy}", SEED_DRIVER]
    wanted = "\n".join(requirements) + "\n"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return str(python)
    print(f"creating {venv} with {' '.join(requirements)} ...", flush=True)
    if venv.exists():
        if not (venv / "pyvenv.cfg").exists():
            raise SystemExit(f"{venv} exists and is not a virtualenv; pass another --seed-venv")
        shutil.rmtree(venv)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *requirements,
        ],
        check=True,
    )
    stamp.write_text(wanted)
    return str(python)


def seed_venv(args: argparse.Namespace) -> Path:
    if args.seed_venv:
        return Path(args.seed_venv)
    if args.seed_sqlalchemy == SEED_SQLALCHEMY:
        return SEED_VENV
    tag = "".join(c if c.isalnum() or c in "._" else "-" for c in args.seed_sqlalchemy)
    return SEED_VENV.with_name(f"{SEED_VENV.name}-sqlalchemy{tag}")


def contenders_for(
    names: list[str], backend: str, args: argparse.Namespace, workdir: Path
) -> list[Contender]:
    """The contenders ``names`` on ``backend``: ``raw`` is sqlite3 or psycopg to match."""
    raw_module, raw_label = {
        "sqlite": ("contenders.raw_sqlite", "raw sqlite3"),
        "postgresql": ("contenders.raw_psycopg", "raw psycopg"),
    }[backend]
    known = {
        "ours": lambda: Contender("ours", "chatbotmaker", "contenders.ours", sys.executable),
        "seed": lambda: Contender(
            "seed",
            "chatbotmaker 0.0.13",
            "contenders.seed",
            ensure_seed_venv(seed_venv(args), args.seed_sqlalchemy),
            {"CBM_SEED_PRAGMAS": args.seed_pragmas},
        ),
        "raw": lambda: Contender("raw", raw_label, raw_module, sys.executable),
    }
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown contender(s) {', '.join(unknown)}; known: {', '.join(known)}")
    found = [known[name]() for name in names]
    if args.compare_rev:
        source = core_at_revision(args.compare_rev, workdir)
        label = f"chatbotmaker @{args.compare_rev}"
        found.append(Contender("rev", label, "contenders.ours", sys.executable, path=[source]))
    return found


def core_at_revision(revision: str, workdir: Path) -> str:
    """``chatbotmaker_core``'s source at git revision ``revision`` (``--compare-rev``)."""
    target = workdir / "core-at-revision"
    source = target / "chatbotmaker_core" / "src"
    if source.exists():  # already extracted for the other backend
        return str(source)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "chatbotmaker_core/src"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(target, filter="data")
        else:  # pragma: no cover - Python < 3.11.4
            tar.extractall(target)  # noqa: S202 - our own repository's archive
    return str(source)
