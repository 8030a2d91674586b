"""The studio's JSON API on Python rules and its integration points (no browser)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from studio_helpers import csrf_of, http, live_database, serve_studio, write_shop

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: what `make chat` leaves in an example's folder: not part of the example
LOCAL_FILES = shutil.ignore_patterns("*.db", "*.db-*", "__pycache__")


def test_python_rules_are_shown_read_only_with_their_diagram(tmp_path):
    folder = tmp_path / "pizza"
    shutil.copytree(EXAMPLES / "pizza", folder, ignore=LOCAL_FILES)
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


PASSING = """\
name: orders a large one
user: ada
steps:
  - say: hi
    expect: ["Welcome to the shop!", "What would you like?"]
    state: menu
  - say: order
    expect: ["Which size?"]
  - say: large
    expect: ["A large one, noted."]
    state: done
"""


def test_run_tests_runs_the_project_transcripts_with_the_diff_of_a_failure(studio):
    folder = studio.config.parent
    (folder / "large.chat.yaml").write_text(PASSING)
    (folder / "wrong.chat.yaml").write_text(
        PASSING.replace("orders a large one", "expects a medium one").replace(
            "A large one, noted.", "A medium one, noted."
        )
    )
    (folder / ".hidden").mkdir()  # skipped, as by `chatbotmaker test`
    (folder / ".hidden" / "other.chat.yaml").write_text(PASSING)
    csrf = csrf_of(http("GET", studio.url + "/").body)
    headers = {"Content-Type": "application/json", "Origin": studio.url, "X-CSRF-Token": csrf}
    answer = http("POST", studio.url + "/api/tests", b"{}", headers)
    assert answer.status == 200
    results = json.loads(answer.body)["results"]
    assert [(r["name"], r["file"], r["passed"], r["steps"]) for r in results] == [
        ("orders a large one", "large.chat.yaml", True, 3),
        ("expects a medium one", "wrong.chat.yaml", False, 3),
    ]
    assert results[0]["diff"] == ""
    assert results[1]["diff"].split("\n")[1:] == [
        "  replies (- expected, + got):",
        '    - "A medium one, noted."',
        '    + "A large one, noted."',
    ]
    assert "'expects a medium one' failed at step 3" in results[1]["diff"]
    assert not (folder / "production.db").exists()  # each ran on a throwaway database


def test_run_tests_with_no_transcripts_and_with_a_broken_one(studio):
    csrf = csrf_of(http("GET", studio.url + "/").body)
    headers = {"Content-Type": "application/json", "Origin": studio.url, "X-CSRF-Token": csrf}
    answer = json.loads(http("POST", studio.url + "/api/tests", b"{}", headers).body)
    assert answer == {"results": []}
    (studio.config.parent / "broken.chat.yaml").write_text("name: broken\nsteps: [\n")
    answer = json.loads(http("POST", studio.url + "/api/tests", b"{}", headers).body)
    [result] = answer["results"]
    assert result["passed"] is False and result["file"] == "broken.chat.yaml"
    assert "broken.chat.yaml" in result["diff"] and result["steps"] == 0


def test_the_graph_counts_the_users_in_each_state_of_the_configs_own_database(tmp_path):
    config = write_shop(tmp_path)
    database = live_database(config, {"ann": ["hi"], "bob": ["hi"], "cid": ["hi", "order"]})
    before = database.read_bytes()
    with serve_studio(tmp_path / "chatbotmaker.toml") as served:
        graph = json.loads(http("GET", served.url + "/api/graph").body)
        assert graph["counts"] == {"menu": 2, "size": 1}
        csrf = csrf_of(http("GET", served.url + "/").body)
        headers = {"Content-Type": "application/json", "Origin": served.url, "X-CSRF-Token": csrf}
        body = json.dumps({"user": "dan", "text": "hi"}).encode()
        assert http("POST", served.url + "/api/say", body, headers).status == 200
        graph = json.loads(http("GET", served.url + "/api/graph").body)
        assert graph["counts"] == {"menu": 2, "size": 1}  # the studio's chat is not counted
    assert database.read_bytes() == before  # read, never written
    # no other database beside it (SQLite's read-only WAL reader may leave live.db-shm)
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("live.db-"))
    assert names == ["chatbotmaker.toml", "live.db", "shop.flow.yaml"]


def test_no_counts_when_the_configs_database_does_not_exist_yet(studio):
    graph = json.loads(http("GET", studio.url + "/api/graph").body)
    assert graph["counts"] == {}
    assert not (studio.config.parent / "production.db").exists()


def test_reset_user_erases_everything_stored_about_the_user(tmp_path):
    """Reset is the operators' erasure on the studio's own database: the user, their
    arguments, recorded state changes and handled message ids, and their orders (the pizza
    example's own table) are gone; the next message starts as a new user's."""
    from sqlalchemy import func, select

    folder = tmp_path / "pizza"
    shutil.copytree(EXAMPLES / "pizza", folder, ignore=LOCAL_FILES)
    with serve_studio(folder / "chatbotmaker.toml") as served:
        csrf = csrf_of(http("GET", served.url + "/").body)
        headers = {"Content-Type": "application/json", "Origin": served.url, "X-CSRF-Token": csrf}
        for text in ("hi", "order", "large", "ham", "yes"):
            body = json.dumps({"user": "ada", "text": text}).encode()
            assert http("POST", served.url + "/api/say", body, headers).status == 200
        database = served.app.extensions["studio"]["project"].current().bot.database
        models = database.models

        def count(table, column, value):
            with database.engine.connect() as conn:
                return conn.execute(
                    select(func.count()).select_from(table).where(column == value)
                ).scalar()

        user_key = database.get_user("ada").id
        orders = database.base.metadata.tables["orders"]
        assert count(orders, orders.c.user_id, user_key) == 1
        assert count(models.Transition.__table__, models.Transition.user_id, "ada") > 0
        body = json.dumps({"user": "ada"}).encode()
        assert http("POST", served.url + "/api/reset", body, headers).status == 200
        assert count(orders, orders.c.user_id, user_key) == 0
        assert count(models.Transition.__table__, models.Transition.user_id, "ada") == 0
        assert count(models.HandledMessage.__table__, models.HandledMessage.user_id, "ada") == 0
        assert database.get_user("ada") is None
        body = json.dumps({"user": "ada", "text": "hi"}).encode()
        again = json.loads(http("POST", served.url + "/api/say", body, headers).body)
        assert [r["text"] for r in again["replies"]][0] == "Welcome to Pizza Bot!"
