"""Fixtures of the facebook tests: a loopback Graph API and a bot that talks to it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import DeclarativeBase

from chatbotmaker_core import Bot, Database, Dispatcher
from chatbotmaker_core.web import create_app
from chatbotmaker_facebook import FacebookMessenger
from tests.support.facebook import APP_SECRET, RULES, TOKEN, VERIFY_TOKEN
from tests.support.fake_graph import FakeGraph


class Base(DeclarativeBase):
    """One declarative base for every test's database: the ORM classes are built once."""


#: fast retries: delivery's backoff is what these tests would otherwise wait on
FAST_RETRIES = {"send_backoff": 0.01, "send_max_backoff": 0.05, "send_deadline": 5.0}


@pytest.fixture(scope="session")
def graph_server() -> Iterator[FakeGraph]:
    server = FakeGraph().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def graph(graph_server: FakeGraph) -> FakeGraph:
    """The loopback Graph API, with no requests recorded and nothing scripted."""
    graph_server.reset()
    return graph_server


@pytest.fixture
def db_dir(tmp_path) -> Iterator[Path]:
    """Where test databases go: in memory-backed /dev/shm when there is one (3x faster)."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="chatbotmaker-fb-", dir=shm))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def make_bot(graph: FakeGraph, db_dir: Path) -> Iterator[Callable[..., Bot]]:
    """``make_bot(**messenger_options)``: a bot on a fresh SQLite file, sending to ``graph``."""
    bots: list[Bot] = []

    def build(bot_config: dict[str, Any] | None = None, **options: Any) -> Bot:
        settings = {
            "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
            "graph_url": graph.url,
            "timeout": 2.0,
            **options,
        }
        messenger = FacebookMessenger(settings.pop("page_access_token", TOKEN), **settings)
        url = f"sqlite:///{db_dir}/bot{len(bots)}.db"
        database = Database({"sqlalchemy.url": url}, base=Base)
        bot = Bot({**FAST_RETRIES, **(bot_config or {})}, messenger, Dispatcher(RULES), database)
        bots.append(bot)
        return bot

    yield build
    for bot in bots:
        bot.database.dispose()


@pytest.fixture
def bot(make_bot) -> Bot:
    return make_bot()


@pytest.fixture
def client(bot):
    return create_app(bot).test_client()


@pytest.fixture
def make_meta_bot(graph: FakeGraph, db_dir: Path) -> Iterator[Callable[..., Bot]]:
    """``make_meta_bot(MessengerClass, *args, **options)``: a bot on a fresh SQLite file whose
    messenger (Instagram, WhatsApp...) sends to ``graph``."""
    bots: list[Bot] = []

    def build(kind: Callable[..., Any], *args: Any, **options: Any) -> Bot:
        settings = {
            "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
            "graph_url": graph.url,
            "timeout": 2.0,
            **options,
        }
        messenger = kind(*(args or (TOKEN,)), **settings)
        database = Database({"sqlalchemy.url": f"sqlite:///{db_dir}/meta{len(bots)}.db"}, base=Base)
        bot = Bot(dict(FAST_RETRIES), messenger, Dispatcher(RULES), database)
        bots.append(bot)
        return bot

    yield build
    for bot in bots:
        bot.database.dispose()
