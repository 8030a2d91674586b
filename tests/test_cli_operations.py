"""``chatbotmaker db``, ``users`` and ``stats`` as an operator runs them, and their bad input."""

import json
import shutil
from pathlib import Path

import pytest

from chatbotmaker_core.cli import main
from tests.support.cli import run_main

PIZZA = Path(__file__).resolve().parents[1] / "examples" / "pizza"


@pytest.fixture
def pizza(tmp_path, monkeypatch):
    folder = tmp_path / "pizza"
    shutil.copytree(PIZZA, folder, ignore=shutil.ignore_patterns("*.db"))
    monkeypatch.chdir(folder)
    monkeypatch.setenv("PIZZA_DB", str(tmp_path / "pizza.db"))
    return str(folder / "chatbotmaker.toml")


def chat(config, monkeypatch, capsys, text, user="ann", channel=None):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    extra = [] if channel is None else ["--channel", channel]
    assert main(["chat", config, "--user", user, *extra]) == 0
    capsys.readouterr()


def test_a_database_never_initialised(pizza, capsys):
    for argv in (["users", pizza, "list"], ["stats", pizza]):
        code, out, err = run_main(capsys, *argv)
        assert code == 1 and out == ""
        assert "has no chatbotmaker tables (never initialised); run `chatbotmaker db upgrade" in err
    code, out, _ = run_main(capsys, "db", "current", pizza)
    assert out.startswith("none (never initialised")


def test_db_upgrade_init_db_current_history(pizza, capsys):
    code, out, _ = run_main(capsys, "init-db", pizza)
    assert code == 0 and "upgraded from an empty database to version 0003" in out
    code, out, _ = run_main(capsys, "db", "upgrade", pizza)
    assert "already at version 0003 (nothing to do)" in out
    assert run_main(capsys, "db", "current", pizza)[1].startswith("0003 (current")
    history = run_main(capsys, "db", "history")[1].splitlines()
    assert [line.split(":")[0] for line in history] == [
        "base -> 0001",
        "0001 -> 0002",
        "0002 -> 0003 (head)",
    ]


def test_users_and_stats(pizza, capsys, monkeypatch):
    run_main(capsys, "db", "upgrade", pizza)
    chat(pizza, monkeypatch, capsys, "hi\n1\n", user="ann")
    chat(pizza, monkeypatch, capsys, "hi\n", user="bob")
    code, out, _ = run_main(capsys, "users", pizza, "list", "--json")
    assert json.loads(out) == [
        {"id": "ann", "channel": "dev", "state": "size"},
        {"id": "bob", "channel": "dev", "state": "menu"},
    ]
    assert run_main(capsys, "users", "list", "--state", "menu")[1] == "bob\tdev\tmenu\n"
    shown = json.loads(run_main(capsys, "users", "show", "ann", "--json")[1])
    assert (shown["id"], shown["state"]) == ("ann", "size")
    assert [(t["from"], t["to"]) for t in shown["transitions"]] == [
        (None, "welcome"),
        ("welcome", "menu"),
        ("menu", "size"),
    ]
    stats = json.loads(run_main(capsys, "stats", pizza, "--since", "1h", "--json")[1])
    assert stats["users_per_state"] == {"menu": 1, "size": 1}
    assert stats["entries_per_state"] == {"menu": 2, "size": 1, "welcome": 2}
    assert {"from": "welcome", "to": "menu", "count": 2} in stats["transitions"]
    assert stats["drop_off"] == {"menu": 1, "size": 1}
    code, out, _ = run_main(capsys, "users", "set-state", "bob", "help")
    assert out == "bob: menu -> help (no handler ran)\n"
    code, out, _ = run_main(capsys, "users", "reset", "ann")
    assert out == "ann: reset to welcome, arguments removed\n"
    code, out, _ = run_main(capsys, "users", "delete", "ann")
    assert out.startswith("ann: erased (") and "users 1" in out
    assert json.loads(run_main(capsys, "users", "list", "--json")[1]) == [
        {"id": "bob", "channel": "dev", "state": "help"}
    ]
    with pytest.raises(SystemExit):
        main(["stats", pizza, "--since", "soon"])
    assert "'soon' is not a duration" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["users", "show", "ghost"], "error: no user 'ghost' in sqlite:///"),
        (["users", "delete", "ghost"], "error: no user 'ghost'"),
        (["users", "set-state", "ghost", "menu"], "error: no user 'ghost'"),
        (["users", "set-state", "bob", "nowhere"], "error: unknown state 'nowhere'"),
        (["users", "list", "--state", "nowhere"], "error: unknown state 'nowhere'"),
    ],
)
def test_users_bad_input(pizza, capsys, monkeypatch, argv, message):
    run_main(capsys, "db", "upgrade", pizza)
    chat(pizza, monkeypatch, capsys, "hi\n", user="bob")
    code, out, err = run_main(capsys, *argv)
    assert code == 1 and err.startswith(message), err
    assert json.loads(run_main(capsys, "users", "show", "bob", "--json")[1])["state"] == "menu"


def test_check_reports_a_bad_metrics_table(pizza, capsys):
    with open(pizza, "a") as config:
        config.write('\n[metrics]\nenabeld = true\nenabled = "yes"\nport = 0\n')
    code, _, err = run_main(capsys, "check", pizza)
    assert code == 1
    assert (
        "error: [metrics] unknown option 'enabeld'; known: enabled, token, directory, port" in err
    )
    assert "error: [metrics] enabled must be true or false, got 'yes'" in err
    assert "error: [metrics] port must be from 1 to 65535, got 0" in err
