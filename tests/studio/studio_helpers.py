"""A studio project in a temporary folder, and the studio served on a free port in a thread."""

from __future__ import annotations

import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from chatbotmaker_dev.studio.app import create_app

SHOP_FLOW = """\
# The test shop: this comment at the top stays.
flow: 1
start: welcome
states:
  welcome:            # first contact
    enter:
      say: "Welcome to the shop!"
    routes:
      - go: menu

  menu:
    prompt:
      say: "What would you like?"
      quick_replies: [order, help]
    routes:
      - match: order
        go: size
      - match: help
        go: help
      - say: "Sorry, I don't know {{ input | quote }}."   # echo, quoted

  size:
    prompt:
      say: "Which size?"
      buttons: [small, large]
    routes:
      - match: [small, large]
        store: {size: "{{ input | lower }}"}
        go: done
      - say: "Please pick small or large."

  done:
    enter:
      say: "A {{ args.size }} one, noted."
    routes:
      - go: menu

  help:
    prompt:
      say: "I sell things. Type anything."
    routes:
      - go: menu
"""

SHOP_CONFIG = """\
[messenger]
name = "dev"

[database]
name = "sqlalchemy"
url = "sqlite:///production.db"     # the studio must never touch this one

[rules]
name = "flow"
source = "shop.flow.yaml"
"""


def write_shop(folder: Path) -> Path:
    (folder / "shop.flow.yaml").write_text(SHOP_FLOW, encoding="utf-8")
    config = folder / "chatbotmaker.toml"
    config.write_text(SHOP_CONFIG, encoding="utf-8")
    return config


def live_database(config: Path, users: dict[str, list[str]]) -> Path:
    """Point ``config`` at ``live.db`` beside it (an absolute SQLite URL) and let the real bot
    take each user through their words there: the config's own database, with users in it."""
    from chatbotmaker_core.config import build_component, load_config
    from chatbotmaker_core.testing import BotHarness

    database = config.parent / "live.db"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("sqlite:///production.db", f"sqlite:///{database}"))
    rules = build_component(load_config(config), "rules")
    for user, words in users.items():
        with BotHarness(rules, user_id=user, database_url=f"sqlite:///{database}") as harness:
            for number, word in enumerate(words):  # message ids are unique per database
                harness.say(word, message_id=f"{user}-{number}")
    return database


@dataclass
class Served:
    url: str
    app: Any
    config: Path

    @property
    def flow_file(self) -> Path:
        return self.config.parent / "shop.flow.yaml"


@contextmanager
def serve_studio(
    config: Path, *, token: str | None = None, loopback: bool = True
) -> Iterator[Served]:
    """The studio on 127.0.0.1, a free port, in a thread; stopped and cleaned up after."""
    app = create_app(config, token=token, loopback=loopback)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_port}", app, config)
    finally:
        server.shutdown()
        thread.join()
        app.extensions["studio"]["project"].close()


@dataclass
class Answer:
    status: int
    body: str
    headers: Any


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> Answer:
    """One real HTTP request (redirects not followed); any status is an answer."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return Answer(response.status, response.read().decode(), response.headers)
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read().decode(), error.headers)


def csrf_of(page_html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page_html)
    assert found, page_html[:300]
    return found.group(1)


def screenshot(page: Any, name: str) -> None:
    """Saves ``<name>.png`` into ``$STUDIO_SCREENSHOTS`` when set (for docs/studio.md)."""
    folder = os.environ.get("STUDIO_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
