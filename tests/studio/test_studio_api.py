"""The studio's JSON API on Python rules and its integration points (no browser)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from studio_helpers import csrf_of, http, serve_studio

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_python_rules_are_shown_read_only_with_their_diagram(tmp_path):
    folder = tmp_path / "pizza"
    shutil.copytree(EXAMPLES / "pizza", folder)
    with serve_studio(folder / "chatbotmaker.toml") as served:
        flow = json.loads(http("GET", served.url + "/api/flow").body)
        assert flow["kind"] == "python" and flow["editable"] is False
        assert "welcome" in flow["states"]
        graph = json.loads(http("GET", served.url + "/api/graph").body)
        assert graph["kind"] == "python"
        drawn = {s["name"] for s in graph["layout"]["states"]}
        assert set(flow["states"]) <= drawn
        answer = http("GET", served.url + "/api/flow/states/welcome")
        assert answer.status == 409
        assert "Python" in json.loads(answer.body)["error"]
        assert not (folder / "pizza.db").exists()  # the config's database: untouched


def test_a_python_rules_module_changed_on_disk_is_reloaded(tmp_path):
    (tmp_path / "echo_rules.py").write_text(
        "RULES = {'actions': {'welcome': {'func': lambda user, text: user.send_message('one')}}}\n"
    )
    (tmp_path / "chatbotmaker.toml").write_text(
        '[messenger]\nname = "dev"\n[database]\nname = "sqlalchemy"\nurl = "sqlite:///p.db"\n'
        '[rules]\nname = "python"\nsource = "echo_rules:RULES"\n'
    )
    with serve_studio(tmp_path / "chatbotmaker.toml") as served:
        csrf = csrf_of(http("GET", served.url + "/").body)
        headers = {"Content-Type": "application/json", "Origin": served.url, "X-CSRF-Token": csrf}
        body = json.dumps({"user": "u", "text": "x"}).encode()
        first = json.loads(http("POST", served.url + "/api/say", body, headers).body)
        assert [r["text"] for r in first["replies"]] == ["one"]
        (tmp_path / "echo_rules.py").write_text(
            "RULES = {'actions': {'welcome': {'func': lambda user, text: "
            "user.send_message('two, longer')}}}\n"
        )
        second = json.loads(http("POST", served.url + "/api/say", body, headers).body)
        assert [r["text"] for r in second["replies"]] == ["two, longer"]
        (tmp_path / "echo_rules.py").write_text("RULES = {'actions': {'welcome': {'func': }}\n")
        broken = json.loads(http("GET", served.url + "/api/project").body)
        assert len(broken["errors"]) == 1
        assert "echo_rules" in broken["errors"][0], broken["errors"]


def test_run_tests_says_when_the_transcripts_runner_is_missing(studio):
    csrf = csrf_of(http("GET", studio.url + "/").body)
    headers = {"Content-Type": "application/json", "Origin": studio.url, "X-CSRF-Token": csrf}
    answer = json.loads(http("POST", studio.url + "/api/tests", b"{}", headers).body)
    try:
        import chatbotmaker_core.transcripts  # noqa: F401
    except ImportError:
        assert answer["available"] is False
        assert answer["message"].startswith("transcripts not available")
    else:  # wired: one result per transcript
        assert answer["available"] is True
