"""The plugin in its surroundings: config files, ``facebook_route`` in your own Flask app, the
``plugins`` command, and ``chatbotmaker serve`` / gunicorn as real servers in subprocesses."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask, request

from chatbotmaker_core import Bot, ConfigError, Database, Dispatcher
from chatbotmaker_core.cli import main
from chatbotmaker_core.testing import RecordingMessenger
from chatbotmaker_core.web import create_app
from chatbotmaker_facebook import FacebookMessenger, facebook_route
from devsupport.net import free_port
from tests.support.facebook import (
    APP_SECRET,
    PSID,
    RULES,
    TOKEN,
    VERIFY_TOKEN,
    post,
    sample_bytes,
    sign,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "facebook"

# -- facebook_route: the seed's helper in a user's own Flask app -----------------------------


def _own_app(bot, check_token=VERIFY_TOKEN, **options) -> Flask:
    app = Flask("my_own_app")

    @app.route("/my/facebook/hook", methods=["GET", "POST"])
    def hook():
        return facebook_route(request, check_token, bot, **options)

    return app


def test_facebook_route_verifies_and_handles_signed_posts(bot, graph):
    client = _own_app(bot).test_client()
    path = "/my/facebook/hook"
    query = {"hub.mode": "subscribe", "hub.challenge": "42", "hub.verify_token": VERIFY_TOKEN}

    assert client.get(path, query_string=query).get_data(as_text=True) == "42"
    assert client.get(path, query_string={**query, "hub.verify_token": "x"}).status_code == 403
    assert post(client, sample_bytes("text"), path=path).status_code == 200
    assert post(client, sample_bytes("text"), path=path, signature=None).status_code == 403
    assert post(client, b"{", path=path).status_code == 400
    assert graph.texts() == ["text:hello, world!"]


def test_facebook_route_checks_the_token_it_is_given(make_bot):
    bot = make_bot(verify_token="the-messengers-token")
    client = _own_app(bot, check_token="the-views-token").test_client()
    query = {"hub.mode": "subscribe", "hub.challenge": "7"}
    ok = client.get(
        "/my/facebook/hook", query_string={**query, "hub.verify_token": "the-views-token"}
    )
    other = client.get(
        "/my/facebook/hook", query_string={**query, "hub.verify_token": "the-messengers-token"}
    )
    assert (ok.status_code, other.status_code) == (200, 403)


def test_facebook_route_with_another_messenger(db_dir):
    messenger = RecordingMessenger()
    bot = Bot({}, messenger, Dispatcher(RULES), Database(f"sqlite:///{db_dir}/own.db"))
    path = "/my/facebook/hook"
    try:
        refused = post(_own_app(bot).test_client(), sample_bytes("text"), path=path)
        signed = _own_app(bot, app_secret=APP_SECRET).test_client()
        forged = post(signed, sample_bytes("text"), path=path, signature=sign(b"x"))
        accepted = post(signed, sample_bytes("text"), path=path)
        unsigned = _own_app(bot, insecure_allow_unsigned=True).test_client()
        allowed = post(unsigned, sample_bytes("quick_reply"), path=path, signature=None)
    finally:
        bot.database.dispose()

    assert [r.status_code for r in (refused, forged, accepted, allowed)] == [403, 403, 200, 200]
    assert messenger.texts() == ["text:hello, world!", "quick_reply:<DEVELOPER_DEFINED_PAYLOAD>"]


# -- configuration and plugin discovery ------------------------------------------------------


def _config(db_dir, **messenger) -> dict:
    return {
        "bot": {"send_backoff": 0.01},
        "messenger": {"name": "facebook", **messenger},
        "database": {"name": "sqlalchemy", "url": f"sqlite:///{db_dir}/config.db"},
        "rules": {"name": "python", "source": "tests.support.facebook:RULES"},
    }


def test_bot_from_config_builds_a_facebook_messenger(db_dir, graph, monkeypatch):
    monkeypatch.setenv("TEST_FB_TOKEN", TOKEN)
    monkeypatch.setenv("TEST_FB_SECRET", APP_SECRET)
    config = _config(
        db_dir,
        page_access_token="${TEST_FB_TOKEN}",
        app_secret="${TEST_FB_SECRET}",
        verify_token="${TEST_FB_VERIFY:-fallback}",
        graph_url=graph.url,
        api_version="v24.0",
        timeout=3,
        turn_action="mark_seen",
    )
    bot = Bot.from_config(config)
    try:
        assert isinstance(bot.messenger, FacebookMessenger)
        assert bot.messenger.check_verify_token("fallback")
        assert post(create_app(bot).test_client(), sample_bytes("text")).status_code == 200
    finally:
        bot.database.dispose()
    assert graph.requests[-1].path == "/v24.0/me/messages"
    assert graph.actions() == ["mark_seen"]


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"page_access_token": ""}, "page_access_token"),
        ({"page_access_token": "t", "turn_action": "wave"}, "turn_action"),
        ({"page_access_token": "t", "app_secrte": "x"}, "app_secrte"),
    ],
)
def test_bad_messenger_config_names_the_problem(db_dir, options, fragment):
    with pytest.raises(ConfigError) as caught:
        Bot.from_config(_config(db_dir, **options))
    assert "[messenger]" in str(caught.value) and fragment in str(caught.value)


def test_plugins_command_lists_facebook(capsys):
    assert main(["plugins", "--json"]) == 0
    plugins = json.loads(capsys.readouterr().out)["plugins"]
    (facebook,) = [p for p in plugins if p["entry_point"] == "facebook"]
    assert facebook["distribution"] == "chatbotmaker-facebook"
    assert facebook["registers"] == {
        "command": ["profile"],
        "messenger": ["facebook", "instagram", "whatsapp"],
    }
    assert facebook["error"] is None


def test_the_example_config_checks(monkeypatch, capsys, db_dir):
    for name in ("FACEBOOK_PAGE_TOKEN", "FACEBOOK_APP_SECRET", "FACEBOOK_VERIFY_TOKEN"):
        monkeypatch.setenv(name, f"test-{name.lower()}")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db_dir}/coffee.db")
    assert main(["check", str(EXAMPLE / "chatbotmaker.toml")]) == 0
    assert "ok (messenger 'facebook'" in capsys.readouterr().out


# -- real servers: chatbotmaker serve (waitress) and gunicorn --------------------------------


@contextlib.contextmanager
def _running(
    command: list[str], env: dict[str, str], port: int, stop: int = signal.SIGTERM
) -> Iterator[str]:
    """Start a server process and wait until ``/healthz`` answers; stop it afterwards."""
    process = subprocess.Popen(
        command,
        cwd=EXAMPLE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited early:\n{process.stdout.read()}")
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or workers still booting
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not start within 20 s")
            time.sleep(0.05)
        yield base
    finally:
        process.send_signal(stop)
        try:
            output, _ = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        assert TOKEN not in output and APP_SECRET not in output


def _server_env(graph, db_dir) -> dict[str, str]:
    return {
        **os.environ,
        "FACEBOOK_PAGE_TOKEN": TOKEN,
        "FACEBOOK_APP_SECRET": APP_SECRET,
        "FACEBOOK_VERIFY_TOKEN": VERIFY_TOKEN,
        "FACEBOOK_GRAPH_URL": graph.url,
        "DATABASE_URL": f"sqlite:///{db_dir}/served.db",
        "CHATBOTMAKER_CONFIG": str(EXAMPLE / "chatbotmaker.toml"),
    }


def _exercise(base: str, graph) -> None:
    """What Meta does: verify, then deliver signed events; plus what an attacker does."""
    verify = {"hub.mode": "subscribe", "hub.challenge": "99", "hub.verify_token": VERIFY_TOKEN}
    assert requests.get(f"{base}/webhook", params=verify, timeout=5).text == "99"
    body = sample_bytes("text")
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)}
    assert requests.post(f"{base}/webhook", data=body, headers=headers, timeout=10).ok
    forged = {**headers, "X-Hub-Signature-256": sign(body, "forged")}
    assert requests.post(f"{base}/webhook", data=body, headers=forged, timeout=5).status_code == 403
    huge = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    too_big = requests.post(f"{base}/webhook", data=huge, headers=headers, timeout=10)
    assert too_big.status_code == 413
    chunked = sample_bytes("postback")  # a generator body is sent with chunked encoding
    signed = {**headers, "X-Hub-Signature-256": sign(chunked)}
    assert requests.post(f"{base}/webhook", data=iter([chunked]), headers=signed, timeout=10).ok
    first, second, third = graph.messages()  # menu; then the answer and the menu again
    assert first.body["recipient"] == {"id": PSID}
    assert first.body["message"]["attachment"]["payload"]["text"] == "What can I get you?"
    assert first.query["access_token"] == TOKEN
    assert second.body["message"]["text"] == "Tap a button, or type ORDER."
    assert third.body["message"] == first.body["message"]


def test_chatbotmaker_serve_runs_the_facebook_webhook_on_waitress(graph, db_dir):
    port = free_port()
    command = [sys.executable, "-m", "chatbotmaker_core.cli", "serve", "--port", str(port)]
    with _running(command, _server_env(graph, db_dir), port) as base:
        _exercise(base, graph)


def _gunicorn_options() -> list[str]:
    """``--no-control-socket`` where gunicorn has one (27+): its default path is per machine."""
    from gunicorn.config import KNOWN_SETTINGS

    names = {setting.name for setting in KNOWN_SETTINGS}
    return ["--no-control-socket"] if "control_socket_disable" in names else []


@pytest.mark.skipif(
    shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None,
    reason="gunicorn is not installed",
)
def test_gunicorn_with_several_workers(graph, db_dir):
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = [
        gunicorn,
        *_gunicorn_options(),
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "chatbotmaker_core.web:app_from_env()",
    ]
    with _running(command, _server_env(graph, db_dir), port, stop=signal.SIGINT) as base:
        _exercise(base, graph)
