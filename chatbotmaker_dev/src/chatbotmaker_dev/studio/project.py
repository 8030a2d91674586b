"""The project the studio works on: one config file, its rules, and a bot built from them.

The bot runs inline with a :class:`RecordingMessenger` and the studio's own SQLite database
(never the config's production database). Rules are rebuilt when a watched file changes: the
config, the flow file, or the Python rules module; every request calls :meth:`Project.current`
which compares modification times (and contents), so nothing needs a restart. A broken file
is kept as a list of error lines for the page to show; the last good bot is dropped so what
the page runs is always what is on disk.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatbotmaker_core.bot import Bot
from chatbotmaker_core.config import build_component, load_config
from chatbotmaker_core.database import Database
from chatbotmaker_core.errors import ChatbotmakerError
from chatbotmaker_core.testing import RecordingMessenger

log = logging.getLogger(__name__)


@dataclass
class Loaded:
    """What one look at the files gave: a bot, or the errors that prevent one."""

    bot: Bot | None = None
    kind: str = "python"  # "flow" or "python"
    flow_file: Path | None = None
    module_file: Path | None = None
    errors: list[str] = field(default_factory=list)


class Project:
    """A config file and the studio's running copy of its bot."""

    def __init__(self, config_path: str | Path, database_path: str | Path | None = None) -> None:
        self.config_path = Path(config_path).resolve()
        self.folder = self.config_path.parent
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if database_path is None:
            self._tmp = tempfile.TemporaryDirectory(
                prefix="chatbotmaker-studio-", ignore_cleanup_errors=True
            )
            database_path = Path(self._tmp.name) / "studio.db"
        self.database_path = Path(database_path)
        self.lock = threading.RLock()  # one turn or reload at a time
        self.messenger = RecordingMessenger()
        self._database: Database | None = None
        self._stamp: tuple[Any, ...] | None = None
        self._loaded = Loaded()

    # -- files ------------------------------------------------------------------------------

    def watched(self) -> list[Path]:
        files = [self.config_path]
        for extra in (self._loaded.flow_file, self._loaded.module_file):
            if extra is not None:
                files.append(extra)
        return files

    def _mtimes(self) -> tuple[Any, ...]:
        stamps: list[tuple[str, int | None, int | None, str | None]] = []
        for file in self.watched():
            try:
                stat = file.stat()
                # the content's digest too: an edit within the file system's timestamp tick
                # that keeps the size (``go: size`` -> ``go: sise``) is still a change
                digest = hashlib.sha1(file.read_bytes(), usedforsecurity=False).hexdigest()
                stamps.append((str(file), stat.st_mtime_ns, stat.st_size, digest))
            except OSError:
                stamps.append((str(file), None, None, None))
        return tuple(stamps)

    def current(self) -> Loaded:
        """The bot as the files on disk describe it now (rebuilt if any changed)."""
        with self.lock:
            stamp = self._mtimes()
            if stamp != self._stamp:
                self._loaded = self._load()
                self._stamp = self._mtimes()  # the load may have found more files to watch
            return self._loaded

    def invalidate(self) -> None:
        """Forget the modification times: the next :meth:`current` reloads (after a save in
        the same second, on file systems with coarse times)."""
        with self.lock:
            self._stamp = None

    # -- building ---------------------------------------------------------------------------

    def _load(self) -> Loaded:
        loaded = Loaded()
        try:
            config = load_config(self.config_path)
            rules = config.get("rules") or {}
            loaded.kind = "flow" if rules.get("name") == "flow" else "python"
            source = rules.get("source")
            if loaded.kind == "flow" and isinstance(source, str):
                loaded.flow_file = (self.folder / source).resolve()
            elif isinstance(source, str) and ":" in source:
                loaded.module_file = _forget_module(source.split(":", 1)[0])
            dispatcher = build_component(config, "rules")
            if loaded.kind == "python" and loaded.module_file is None and isinstance(source, str):
                loaded.module_file = _module_file(source.split(":", 1)[0])
            database = self._studio_database(config)
            bot_config = config.get("bot") or {}
            loaded.bot = Bot(dict(bot_config), self.messenger, dispatcher, database)
        except ChatbotmakerError as error:
            loaded.errors = list(getattr(error, "problems", None) or [str(error)])
        except Exception as error:  # noqa: BLE001 - a rules module's bug is shown in the page
            log.debug("loading %s failed", self.config_path, exc_info=True)
            loaded.errors = [f"{type(error).__name__}: {error}"]
        return loaded

    def _studio_database(self, config: dict[str, Any]) -> Database:
        """The config's [database] with its URL replaced by the studio's SQLite file; the
        application's ``base`` (its own tables) is kept so ``call`` functions work."""
        section = dict(config.get("database") or {})
        options: dict[str, Any] = {"name": "sqlalchemy", "url": f"sqlite:///{self.database_path}"}
        if section.get("name") == "sqlalchemy" and section.get("base"):
            options["base"] = section["base"]
        if self._database is not None:
            self._database.dispose()
        self._database = build_component({"database": options}, "database")
        return self._database

    def close(self) -> None:
        with self.lock:  # after the turn in progress, if any
            if self._database is not None:
                self._database.dispose()
        if self._tmp is not None:
            self._tmp.cleanup()


def _forget_module(name: str) -> Path | None:
    """Drop a rules module (and its package's cached children) from ``sys.modules`` so the
    next import reads the file again; returns its file when it was loaded."""
    module = sys.modules.pop(name, None)
    importlib.invalidate_caches()
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if file else None


def _module_file(name: str) -> Path | None:
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if file else None
