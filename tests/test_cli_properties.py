"""Acceptance: random config files and random argument lists at every command end in exit
status 0, 1 or 2 and never print a traceback.

Runs in-process through ``cli.main`` (bounded: ~150 examples), plus a few real subprocesses.
``serve`` only ever gets an invalid option, so no example can start a server.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbotmaker_core.cli import main
from tests.support.cli import FIXTURES, run

# Generator cases, each of which once ended in a traceback.
#: the config path is a directory (IsADirectoryError)
INCLUDE_DIRECTORY = True
#: the config file is not UTF-8 (UnicodeDecodeError from tomllib)
INCLUDE_NOT_UTF8 = True
#: a database URL that is not one, a missing SQLite folder, a dialect without its driver
INCLUDE_BAD_DATABASE = True
#: a rules attribute that is not a mapping (or not a Dispatcher config): handled already
INCLUDE_BAD_RULES = True

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.text(max_size=12),
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3))
keys = st.one_of(
    st.sampled_from(["name", "url", "source", "mode", "initial_state", "send_attempts"]),
    st.text(min_size=1, max_size=8),
)


def toml(config: dict[str, Any]) -> str:
    """A dict as TOML: scalars first, then one table per dict value (one level deep)."""
    lines = [f"{json.dumps(k)} = {_value(v)}" for k, v in config.items() if not isinstance(v, dict)]
    for name, table in config.items():
        if isinstance(table, dict):
            lines.append(f"[{json.dumps(name)}]")
            lines += [f"{json.dumps(k)} = {_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value) if "e" in repr(value) or "." in repr(value) else f"{value}.0"
    return json.dumps(value) if isinstance(value, str) else str(value)


def good_config(folder: Path) -> dict[str, Any]:
    return {
        "bot": {"initial_state": "welcome"},
        "messenger": {"name": "dev"},
        "database": {"name": "sqlalchemy", "url": f"sqlite:///{folder}/bot.db"},
        "rules": {"name": "python", "source": "cli_rules:RULES"},
    }


SAFE_SOURCES = ["cli_rules:RULES", "cli_rules:nope", "no_such_module:RULES", "cli_rules", ":"]
BAD_SOURCES = ["cli_rules:log", "cli_rules:func_menu", "json:dumps"]
SAFE_URLS = ["sqlite:///{folder}/other.db", "sqlite://"]
BAD_URLS = ["nonsense", "sqlite:///{folder}/missing/dir/x.db", "mysql://u@127.0.0.1:1/x"]


@st.composite
def mutations(draw: Any) -> tuple[str, Any, Any]:
    table = draw(st.sampled_from(["bot", "messenger", "database", "rules", "worker", "extra"]))
    kind = draw(st.sampled_from(["drop", "key", "source", "url", "mode", "scalar_table"]))
    sources = SAFE_SOURCES + (BAD_SOURCES if INCLUDE_BAD_RULES else [])
    urls = SAFE_URLS + (BAD_URLS if INCLUDE_BAD_DATABASE else [])
    if kind == "source":
        return ("rules", "source", draw(st.sampled_from(sources)))
    if kind == "url":
        return ("database", "url", draw(st.sampled_from(urls)))
    if kind == "mode":
        return ("bot", "mode", draw(st.sampled_from(["inline", "queued", "", "fast"])))
    if kind == "scalar_table":
        return (table, None, draw(scalars))
    if kind == "drop":
        return (table, None, None)
    return (table, draw(keys), draw(values))


@st.composite
def config_files(draw: Any) -> tuple[str, Any]:
    """``("toml", dict)``, ``("text", str)`` or ``("bytes", bytes)``, or a directory."""
    kinds = ["mutated", "mutated", "mutated", "random", "text"]
    kinds += ["bytes"] if INCLUDE_NOT_UTF8 else []
    kinds += ["directory"] if INCLUDE_DIRECTORY else []
    kind = draw(st.sampled_from(kinds))
    if kind == "mutated":
        return ("mutated", draw(st.lists(mutations(), max_size=3)))
    if kind == "random":
        table = st.dictionaries(keys, values, max_size=3)
        return ("toml", draw(st.dictionaries(keys, st.one_of(values, table), max_size=4)))
    if kind == "text":
        return ("text", draw(st.text(max_size=40)))
    if kind == "bytes":
        return ("bytes", b"[bot]\nname = '" + draw(st.binary(min_size=1, max_size=8)) + b"\xff'")
    return ("directory", None)


def write(folder: Path, spec: tuple[str, Any]) -> str:
    kind, data = spec
    path = folder / "chatbotmaker.toml"
    if kind == "mutated":
        config = good_config(folder)
        for table, key, value in data:
            if key is None:
                config.pop(table, None) if value is None else config.__setitem__(table, value)
                continue
            if not isinstance(config.get(table), dict):
                config[table] = {}
            if isinstance(value, str):
                value = value.replace("{folder}", str(folder))
            config[table][key] = value
        path.write_text(toml(config))
    elif kind == "toml":
        path.write_text(toml(data))
    elif kind == "text":
        path.write_text(data, encoding="utf-8", errors="surrogatepass")
    elif kind == "bytes":
        path.write_bytes(data)
    else:
        path.mkdir()
    return str(path)


BAD_SERVE = st.sampled_from(
    [["--port", "0"], ["--port", "65536"], ["--port", "x"], ["--threads", "0"], ["--threads", "-2"]]
)
#: commands that would serve for ever when their options are valid: only given bad ones
SERVERS = ("serve", "studio")
COMMANDS = [
    "chat", "check", "plugins", "worker", "jobs", "init-db", "graph", "test", "db", "users",
    "stats", "profile",
]  # fmt: skip
TOKENS = st.sampled_from(
    ["chat", "check", "plugins", "worker", "jobs", "init-db", "--json", "--user", "x",
     "--log-level", "info", "LOUD", "--status", "failed", "nope", "--retry", "1", "-1",
     "--retry-all", "--burst", "--concurrency", "0", "3", "--help", "--version", "--", "",
     "graph", "test", "db", "users", "stats", "profile", "--format", "dot", "json", "-o",
     "--strict", "--coverage", "upgrade", "current", "history", "list", "show", "set-state",
     "reset", "delete", "--state", "--since", "1h", "-3d", "push", "x.chat.yaml"]
)  # fmt: skip


@st.composite
def argument_lists(draw: Any) -> list[str]:
    kind = draw(st.sampled_from(["command", "serve", "random"]))
    if kind == "serve":
        server = draw(st.sampled_from(SERVERS))
        bad = draw(BAD_SERVE if server == "serve" else st.sampled_from([["--port", "0"]]))
        return [server, "CONFIG", *bad, *draw(st.lists(TOKENS, max_size=2))]
    if kind == "random":
        argv = draw(st.lists(st.one_of(TOKENS, st.just("CONFIG"), st.text(max_size=6)), max_size=6))
        return argv if not set(argv) & set(SERVERS) else ["serve", "--port", "0"]
    command = draw(st.sampled_from(COMMANDS))
    argv = [command] + ([] if command == "plugins" else ["CONFIG"])
    return argv + draw(st.lists(TOKENS, max_size=3))


def run_in_process(capsys: Any, argv: list[str]) -> tuple[int, str]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(b""))  # chat reads an empty stdin
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        sys.stdin = stdin
        root.handlers[:], root.level = handlers, level
    out, err = capsys.readouterr()
    return code, out + err


@SETTINGS
@given(spec=config_files(), argv=argument_lists())
def test_random_configs_and_arguments_end_in_0_1_or_2_without_traceback(
    spec, argv, tmp_path_factory, capsys, monkeypatch
):
    folder = tmp_path_factory.mktemp("prop")
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(FIXTURES))
    config = write(folder, spec)
    argv = [config if token == "CONFIG" else token for token in argv]
    code, output = run_in_process(capsys, argv)
    assert code in (0, 1, 2), (argv, output)
    assert "Traceback" not in output, (argv, output)


@pytest.mark.parametrize(
    ("content", "argv"),
    [
        ('[bot]\nmode = "queued"\n', ["worker", "--burst"]),
        ("not = [toml", ["check"]),
        ("", ["jobs", "--status", "doing", "--retry", "1"]),
        ("", ["serve", "--port", "99999"]),
        ("", ["--log-level", "nope", "chat"]),
    ],
)
def test_subprocess_runs_end_in_0_1_or_2_without_traceback(tmp_path, content, argv):
    config = tmp_path / "chatbotmaker.toml"
    config.write_text(content)
    result = run(argv[0], str(config), *argv[1:]) if argv[0] != "--log-level" else run(*argv)
    output = (result.stdout + result.stderr).decode(errors="replace")
    assert result.returncode in (0, 1, 2), output
    assert "Traceback" not in output
