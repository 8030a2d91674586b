"""The load test's hand-written contender does the bot's work (benchmarks/load_bot/handwritten_*).

`make bench` holds chatbotmaker's inline webhook to a share of this contender's throughput, so
it must do the same work: refuse what chatbotmaker refuses, count each message id once, and
send chatbotmaker's Send API request. Checked on a real database and a real HTTP stand-in.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import io
import json
import sys
from pathlib import Path

import pytest

from benchmarks.load_bot import handwritten_db as db
from tests.support.fake_graph import FakeGraph

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SECRET, TOKEN = "app-secret", "page-token"


def test_a_turn_counts_each_message_id_once(db_url):
    db.create_schema(db_url)
    store = db.open_store(db_url)
    assert store.turn("u1", "m1", "a") == ["u1:1:a"]
    assert store.turn("u1", "m1", "a") == []  # a redelivery: nothing done, nothing sent
    assert store.turn("u1", "m2", "b") == ["u1:2:b"]
    assert store.turn("u2", "m3", "c") == ["u2:1:c"]
    store.conn.close()
    counters, handled = db.read_state(db_url)
    assert sorted(counters) == [("u1", 2), ("u2", 1)]
    assert handled == {"m1", "m2", "m3"}


@pytest.fixture
def handwritten(tmp_path, monkeypatch):
    """The WSGI app, imported afresh against a SQLite file and a fake Graph API."""
    graph = FakeGraph().start()
    url = f"sqlite:///{tmp_path}/hand.db"
    db.create_schema(url)
    for name, value in {
        "FACEBOOK_APP_SECRET": SECRET,
        "FACEBOOK_PAGE_TOKEN": TOKEN,
        "HANDWRITTEN_DATABASE_URL": url,
        "HANDWRITTEN_GRAPH_URL": graph.url,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    for module in ("load_bot.handwritten_app", "load_bot.handwritten_db", "load_bot"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    app = importlib.import_module("load_bot.handwritten_app")
    try:
        yield app, graph, url
    finally:
        if getattr(app._local, "graph", None) is not None:
            app._local.graph.close()
        if getattr(app._local, "store", None) is not None:
            app._local.store.conn.close()
        graph.stop()
        for name in [m for m in sys.modules if m.split(".")[0] == "load_bot"]:
            del sys.modules[name]  # benchmarks/ leaves sys.path: so do its modules


def post(app, body: bytes, signature: str | None = None) -> str:
    if signature is None:
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    environ = {
        "PATH_INFO": "/webhook",
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_HUB_SIGNATURE_256": signature,
        "wsgi.input": io.BytesIO(body),
    }
    statuses = []
    app.app(environ, lambda status, headers: statuses.append(status))
    return statuses[0]


def messages(*events: tuple[str, str, str]) -> bytes:
    items = [
        {"sender": {"id": user}, "recipient": {"id": "page"}, "message": {"mid": mid, "text": t}}
        for user, mid, t in events
    ]
    return json.dumps({"object": "page", "entry": [{"id": "page", "messaging": items}]}).encode()


def test_the_webhook_refuses_bad_input_and_replies_as_chatbotmaker_does(handwritten):
    app, graph, url = handwritten
    body = messages(("u1", "m1", "hi"), ("u2", "m2", "yo"))
    assert post(app, body, signature="sha256=" + "0" * 64) == "403 Forbidden"
    bad = b'{"object": "page", "entry": 3'
    assert post(app, bad) == "400 Bad Request"
    assert graph.messages() == [] and db.read_state(url) == ([], set())

    assert post(app, body) == "200 OK"
    assert post(app, body) == "200 OK"  # redelivered: handled once
    assert post(app, messages(("u1", "m3", "again"))) == "200 OK"
    sent = graph.messages()
    assert [(r.body["recipient"]["id"], r.text) for r in sent] == [
        ("u1", "u1:1:hi"),
        ("u2", "u2:1:yo"),
        ("u1", "u1:2:again"),
    ]
    proof = hmac.new(SECRET.encode(), TOKEN.encode(), hashlib.sha256).hexdigest()
    assert {(r.method, r.path) for r in sent} == {("POST", "/v25.0/me/messages")}
    assert sent[0].query == {"access_token": TOKEN, "appsecret_proof": proof}
    assert sent[0].body["messaging_type"] == "RESPONSE"
