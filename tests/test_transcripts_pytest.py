"""The pytest plugin (entry point ``pytest11``) on a sample project, in a subprocess; and the
``bot`` fixture's helpers for redelivery and concurrent delivery."""

from __future__ import annotations

import subprocess
import sys
from textwrap import dedent

import pytest

from chatbotmaker_core.bot import TurnResult
from chatbotmaker_core.message import Message, Reply
from chatbotmaker_core.testing import BotHarness
from chatbotmaker_core.transcripts.concurrency import check_guarantees
from chatbotmaker_core.transcripts.trace import Trace
from tests.support.transcripts import BUYS, WRONG, make_shop, write

TESTS = """
import pytest


def test_orders(bot):
    assert bot.say("hi") == ["Hello!", "What now?\\n  1. Buy\\n  2. Help"]
    assert bot.say("BUY") == ["Which size?"]
    bot.redeliver()
    assert (bot.state, bot.arguments) == ("size", {})


def test_many_at_once(bot):
    bot.say("hi")
    results = bot.say_concurrently([f"m{i}" for i in range(6)], copies=2)
    assert sum(r.handled for r in results) == 6


@pytest.mark.chatbotmaker(config="other/chatbotmaker.toml")
def test_marker_picks_the_config(bot):
    assert bot.say("hi") == ["Other!"]
"""


def _pytest(folder, *args):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_plugin_collects_transcripts_and_offers_the_bot_fixture(tmp_path):
    make_shop(tmp_path, module="plugin_shop")
    write(tmp_path, "buys.chat.yaml", BUYS)
    wrong = write(tmp_path, "wrong.chat.yaml", WRONG)
    write(tmp_path, "test_bot.py", TESTS)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "other_rules.py").write_text(
        "RULES = {'actions': {'welcome': {'func': lambda u, t: u.send_message('Other!')}}}\n"
    )
    (tmp_path / "other" / "chatbotmaker.toml").write_text(
        dedent("""\
        [database]
        name = "sqlalchemy"
        url = "sqlite:///never.db"
        [rules]
        name = "python"
        source = "other_rules:RULES"
        """)
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    done = _pytest(tmp_path, "-v")
    out = done.stdout
    assert done.returncode == 1, out
    assert "buys.chat.yaml::buys a large one PASSED" in out
    assert "wrong.chat.yaml::wrong size prompt FAILED" in out
    assert "test_bot.py::test_orders PASSED" in out
    assert "test_bot.py::test_many_at_once PASSED" in out
    assert "test_bot.py::test_marker_picks_the_config PASSED" in out
    assert "1 failed, 4 passed" in out
    assert (
        f"{wrong}:4: 'wrong size prompt' failed at step 2 (say 'BUY')\n"
        f"  replies (- expected, + got):\n"
        f'    - "Which colour?"\n'
        f'    + "Which size?"\n'
        f"  state: expected 'colour', got 'size'\n"
    ) in out
    assert not (tmp_path / "real.db").exists() and not (tmp_path / "other" / "never.db").exists()


def test_the_ini_option_names_the_config(tmp_path):
    make_shop(tmp_path / "bot", module="ini_shop")
    tests = tmp_path / "tests"
    tests.mkdir()
    write(tests, "test_it.py", "def test_it(bot):\n    assert bot.say('hi')[0] == 'Hello!'\n")
    write(tests, "buys.chat.yaml", BUYS)
    (tmp_path / "pytest.ini").write_text("[pytest]\nchatbotmaker_config = bot/chatbotmaker.toml\n")
    done = _pytest(tmp_path)
    assert done.returncode == 0, done.stdout
    assert "2 passed" in done.stdout


def _result(mid: str, replies: list[str]) -> TurnResult:
    message = Message(user_id="u", text=mid, message_id=mid)
    return TurnResult(message, handled=True, replies=[Reply(r) for r in replies])


def test_the_guarantee_checks_catch_interleaving_double_handling_and_reordering():
    trace = Trace(
        events=[("a", "u", "s", "func"), ("b", "u", "s", "func"), ("a", "u", "s", "enter_func")]
    )
    messages = [_result("a", []).message, _result("b", []).message]
    with pytest.raises(AssertionError, match="the turns of one user interleaved"):
        check_guarantees(messages, [_result("a", []), _result("b", [])], trace, [])
    twice = [_result("a", []), _result("a", []), _result("b", [])]
    with pytest.raises(AssertionError, match=r"handled exactly once; handled counts: \{'a': 2\}"):
        check_guarantees(messages, twice, Trace(), [])
    ordered = Trace(events=[("b", "u", "s", "func"), ("a", "u", "s", "func")])
    results = [_result("a", ["A"]), _result("b", ["B"])]
    with pytest.raises(AssertionError, match=r"expected \['B', 'A'\], got \['A', 'B'\]"):
        check_guarantees(messages, results, ordered, [("u", Reply("A")), ("u", Reply("B"))])
    check_guarantees(messages, results, ordered, [("u", Reply("B")), ("u", Reply("A"))])


def test_redeliver_fails_when_the_message_is_handled_again():
    def count(user, text):
        user.send_message(f"seen {text}")

    with BotHarness({"actions": {"welcome": {"func": count}}}) as harness:
        # A message without an id (the terminal's) cannot be recognised when it comes again.
        harness.last = harness.bot.handle(Message(user_id="user", text="hi"))
        with pytest.raises(
            AssertionError, match=r"it was handled again; it was answered \['seen hi'\]"
        ):
            harness.redeliver()
