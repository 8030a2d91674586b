"""Bad command-line values: one line and exit status 2 (usage) or 1, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from chatbotmaker_core import hookimpl
from chatbotmaker_core.testing import registered_plugin
from chatbotmaker_dev import DevMessenger
from tests.support.cli import FIXTURES, run, run_main, write_config


@pytest.fixture
def config(tmp_path):
    return str(write_config(tmp_path, f"sqlite:///{tmp_path}/bot.db"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--log-level", "loud", "plugins"],
            "argument --log-level: 'loud' is not a log level; "
            "use one of debug, info, warning, error, critical",
        ),
        (
            ["plugins", "--log-level", "loud"],
            "argument --log-level: 'loud' is not a log level; "
            "use one of debug, info, warning, error, critical",
        ),
        (["serve", "--port", "70000"], "argument --port: 70000 is not a port; use 1 to 65535"),
        (["serve", "--port", "0"], "argument --port: 0 is not a port; use 1 to 65535"),
        (["serve", "--port", "http"], "argument --port: 'http' is not an integer"),
        (["serve", "--threads", "0"], "argument --threads: 0 must be 1 or more"),
        (["worker", "--concurrency", "-3"], "argument --concurrency: -3 must be 1 or more"),
        (["worker", "--concurrency", "0"], "argument --concurrency: 0 must be 1 or more"),
        (["jobs", "--retry", "x"], "argument --retry: 'x' is not an integer"),
        (
            ["jobs", "--status", "broken"],
            "argument --status: 'broken' is not a job status; use one of todo, doing, "
            "succeeded, failed, cancelled, aborting, aborted",
        ),
    ],
)
def test_a_bad_option_value_is_a_usage_error(capsys, config, argv, message):
    if argv[0] in ("serve", "worker", "jobs"):
        argv = [*argv, config]
    code, out, err = run_main(capsys, *argv)
    assert code == 2
    prog = "chatbotmaker" if argv[0].startswith("-") else f"chatbotmaker {argv[0]}"
    assert err.splitlines()[-1] == f"{prog}: error: {message}"
    assert "Traceback" not in out + err


def test_version_lists_the_installed_distributions(capsys):
    from importlib.metadata import version

    code, out, _ = run_main(capsys, "--version")
    assert code == 0
    assert out.splitlines() == [
        f"{name} {version(name)}"
        for name in ("chatbotmaker-core", "chatbotmaker-dev", "chatbotmaker-facebook")
    ]


def test_serve_on_a_port_in_use_is_one_line_naming_it(config):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        try:
            result = run("serve", config, "--port", str(port))
        except subprocess.TimeoutExpired:  # pragma: no cover - it served: the bug
            pytest.fail("serve started on a port already in use")
    assert result.returncode == 1
    assert result.stderr.decode().splitlines()[-1] == (
        f"error: port {port} on 127.0.0.1 is already in use; stop the other server or pass "
        "another --port"
    )


class Clash:
    @hookimpl
    def register_messengers(self, register):  # type: ignore[no-untyped-def]
        register("memo", DevMessenger)


def test_a_name_clash_is_reported_once(capsys, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES))
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/bot.db")
    config.write_text(config.read_text().replace('name = "dev"', 'name = "memo"'))
    clash = "messenger 'memo' is registered by two plugins: memo-a and memo-b; uninstall one"
    with (
        registered_plugin(Clash(), "memo-a"),
        registered_plugin(Clash(), "memo-b"),
    ):
        code, out, err = run_main(capsys, "plugins")
        assert code == 1
        assert (out + err).count(clash) == 1
        code, out, err = run_main(capsys, "check", str(config))
        assert code == 1
        assert (out + err).count(clash) == 1
        code, out, err = run_main(capsys, "chat", str(config.with_name("absent.toml")))
        assert code == 1
    # a clash only disables its own name: a bot with other names still runs
    with registered_plugin(Clash(), "memo-a"), registered_plugin(Clash(), "memo-b"):
        config.write_text(config.read_text().replace('name = "memo"', 'name = "dev"'))
        code, out, err = run_main(capsys, "check", str(config))
        assert code == 0, out + err


def test_python_dash_m_cli_still_runs():
    result = subprocess.run(
        [sys.executable, "-m", "chatbotmaker_core.cli", "--log-level", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
