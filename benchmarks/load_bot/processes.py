"""The processes a load test starts: each in a session of its own, stopped with its children.

Servers run with ``benchmarks/`` as their working folder and first on ``PYTHONPATH``, so that
gunicorn finds ``load_bot.bare_app:app`` and the bot's ``load_bot.rules:RULES``.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

BENCHMARKS = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


class Processes:
    """Every process this run starts, each in its own session (its own process group), so
    that stopping one stops its children too (gunicorn's workers) and nothing else."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        stdin: int | IO[Any] | None = subprocess.DEVNULL,
        stdout: int | IO[Any] | None = None,
    ) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        try:
            process = subprocess.Popen(
                list(argv),
                cwd=BENCHMARKS,
                env=env,
                stdin=stdin,
                stdout=log if stdout is None else stdout,
                stderr=log,
                start_new_session=True,
            )
        finally:
            log.close()
        self.running.append((name, process))
        return process

    def stop(self, *processes: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
        """SIGTERM to each process's group (all at once), SIGKILL what is left after
        ``timeout``; then SIGKILL whatever a group leader left behind."""
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            alive = [p for p in processes if p.poll() is None]
            for process in alive:
                self._signal_group(process.pid, sig)  # group id = pid: start_new_session
            until = time.monotonic() + wait
            for process in alive:
                try:
                    process.wait(max(until - time.monotonic(), 0.01))
                except subprocess.TimeoutExpired:
                    pass
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(5)
            self._signal_group(process.pid, signal.SIGKILL)  # a gunicorn worker left over
        self.running = [(n, p) for n, p in self.running if p not in processes]

    @staticmethod
    def _signal_group(pgid: int, sig: int) -> None:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop_all(self) -> None:
        try:
            self.stop(*[p for _, p in self.running], timeout=5.0)
        except Exception as error:  # noqa: BLE001 - at exit: say so, do not mask the cause
            print(f"warning: could not stop every process: {error}", file=sys.stderr)

    def log_tail(self, name: str, lines: int = 25) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def child_env(**extra: str) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "PYTHONPATH": str(BENCHMARKS) + (os.pathsep + path if path else ""),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def wait_healthy(port: int, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {process.returncode}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer /healthz in time")
