"""The chatbotmaker command: chat (piped), check, plugins."""

import json
import os
import subprocess
import sys
from pathlib import Path

from chatbotmaker_core.cli import main

ROOT = Path(__file__).resolve().parent.parent
PIZZA = ROOT / "examples" / "pizza"
CHATBOTMAKER = Path(sys.executable).with_name("chatbotmaker")


def run(*args, stdin="", env=None, cwd=None):
    return subprocess.run(
        [str(CHATBOTMAKER), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def test_chat_piped_with_the_example_bot(tmp_path):
    script = "hi\norder\nmedium\nolives\nyes\nhistory\n"
    result = run(
        "chat",
        str(PIZZA / "chatbotmaker.toml"),
        stdin=script,
        env={"PIZZA_DB": str(tmp_path / "pizza.db")},
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("terminal > ")]
    assert lines == [
        "terminal > Welcome to Pizza Bot!",
        "terminal > What would you like? (order, history, help)",
        "terminal > Which size? small, medium or large",
        "terminal > Which toppings?",
        "terminal > A medium pizza with olives. Confirm? (yes/no)",
        "terminal > Order placed! It will be ready in 20 minutes.",
        "terminal > What would you like? (order, history, help)",
        "terminal > Order 1: a medium pizza with olives",
        "terminal > What would you like? (order, history, help)",
    ]


def test_chat_resumes_the_conversation_from_the_database(tmp_path):
    env = {"PIZZA_DB": str(tmp_path / "pizza.db")}
    config = str(PIZZA / "chatbotmaker.toml")
    run("chat", config, "--user", "ada", stdin="hi\norder\n", env=env)
    result = run("chat", config, "--user", "ada", stdin="small\n", env=env)
    assert result.stdout.splitlines()[0] == "ada > Which toppings?"


def test_chat_uses_default_config_in_current_folder(tmp_path):
    result = run("chat", stdin="", cwd=PIZZA, env={"PIZZA_DB": str(tmp_path / "p.db")})
    assert result.returncode == 0 and result.stdout == ""


def test_check_ok_and_failing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PIZZA_DB", str(tmp_path / "p.db"))
    assert main(["check", str(PIZZA / "chatbotmaker.toml")]) == 0
    assert "ok (messenger 'dev', database 'sqlalchemy', rules 'python')" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (PIZZA / "chatbotmaker.toml")
        .read_text()
        .replace('"dev"', '"facebok"')
        .replace("pizza_rules:RULES", "pizza_rules:NOPE")
    )
    assert main(["check", str(bad)]) == 1
    out = capsys.readouterr().err
    assert "error: unknown messenger 'facebok'; available:" in out
    assert "module 'pizza_rules' has no attribute 'NOPE'" in out
    assert "2 problems" in out


def test_missing_config_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["chat"]) == 1
    assert "config file 'chatbotmaker.toml' not found" in capsys.readouterr().err


def test_plugins_json_lists_core_and_dev(capsys):
    assert main(["plugins", "--json"]) == 0
    plugins = {p["entry_point"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
    assert plugins["core"]["distribution"] == "chatbotmaker-core"
    assert plugins["core"]["registers"] == {
        "database": ["sqlalchemy"],
        "rule_source": ["python", "flow"],
    }
    assert plugins["dev"]["registers"] == {"messenger": ["dev"], "command": ["studio"]}
    assert plugins["dev"]["version"] and plugins["dev"]["error"] is None


def test_the_command_line_starts_without_the_engine():
    """`chatbotmaker --help` and argument parsing load neither SQLAlchemy, Flask nor Alembic:
    a command imports what it runs (docs/performance.md, start-up)."""
    import subprocess
    import sys

    code = (
        "import sys, chatbotmaker_core.cli as cli\n"
        "cli._parser(plugin_commands=False)\n"
        "heavy = [m for m in ('sqlalchemy', 'flask', 'alembic', 'jinja2', 'ruamel') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
