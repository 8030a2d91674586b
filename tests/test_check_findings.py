"""chatbotmaker check finds mistakes in the graph, for flows and Python rules alike."""

import textwrap
from itertools import count

from chatbotmaker_core.cli import main

_ids = count()


def project(tmp_path, *, flow=None, rules=None):
    """A config in tmp_path for a flow text or a Python rules module text."""
    if flow is not None:
        (tmp_path / "bot.flow.yaml").write_text(textwrap.dedent(flow).lstrip("\n"))
        table = 'name = "flow"\nsource = "bot.flow.yaml"\n'
    else:
        module = f"check_rules_{next(_ids)}"
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(rules))
        table = f'name = "python"\nsource = "{module}:RULES"\n'
    config = tmp_path / "chatbotmaker.toml"
    config.write_text(
        '[messenger]\nname = "dev"\n[database]\nname = "sqlalchemy"\n'
        f'url = "sqlite:///{tmp_path}/bot.db"\n[rules]\n{table}'
    )
    return config


def check(capsys, config, *options):
    """Exit code and what check printed (diagnostics on stderr, the verdict line last)."""
    code = main(["check", str(config), *options])
    captured = capsys.readouterr()
    return code, (captured.err + captured.out).replace(str(config.parent) + "/", "")


def test_flow_unknown_go_target_is_an_error(tmp_path, capsys):
    config = project(
        tmp_path,
        flow="flow: 1\nstates:\n  welcome:\n    routes:\n      - go: menus\n  menu:\n    end: true\n",
    )
    code, out = check(capsys, config)
    assert code == 1
    assert (
        "bot.flow.yaml:5:13: state 'welcome', route 1: unknown state 'menus' (did you mean 'menu'?); states: welcome, menu"
        in out
    )


def test_flow_call_into_python_with_an_unknown_target_is_an_error(tmp_path, capsys):
    (tmp_path / "check_actions_x.py").write_text(
        "def jump(user, text):\n    user.change_state('nowhere')\n"
    )
    config = project(
        tmp_path,
        flow="flow: 1\nstates:\n  welcome:\n    end: true\n    routes:\n      - call: check_actions_x:jump\n",
    )
    code, out = check(capsys, config)
    assert code == 1
    assert out.splitlines()[0] == (
        "error: check_actions_x.py:2:5: state 'welcome': change to unknown state 'nowhere'; "
        "states: welcome"
    )


def test_python_unknown_target_is_an_error(tmp_path, capsys):
    config = project(
        tmp_path,
        rules="""
        def welcome(user, text):
            user.change_state("hepl")

        RULES = {
            "actions": {
                "welcome": {"func": welcome},
                "help": {"func": lambda user, text: user.change_state("welcome")},
            }
        }
        """,
    )
    code, out = check(capsys, config)
    assert code == 1
    errors = [line for line in out.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert errors[0].endswith(
        ".py:3:5: state 'welcome': change to unknown state 'hepl' (did you mean 'help'?); "
        "states: welcome, help"
    )


FLOW_WARNINGS = """
flow: 1
states:
  welcome:
    routes:
      - match: a
        go: middle
      - say: "anything"
      - match: b
        go: welcome
  middle:
    routes:
      - say: "stuck here"
  lost:
    end: true
"""


def test_flow_warnings_and_strict(tmp_path, capsys):
    config = project(tmp_path, flow=FLOW_WARNINGS)
    code, out = check(capsys, config)
    assert code == 0
    assert out.splitlines()[:3] == [
        "warning: bot.flow.yaml:13:3: state 'lost' is unreachable from the start 'welcome': "
        "nothing changes to it",
        "warning: bot.flow.yaml:8:9: state 'welcome', route 3 can never run: route 2 before it "
        "matches everything; move the catch-all route last",
        "warning: bot.flow.yaml:10:3: state 'middle': nothing leaves it (no go or change_state); "
        "mark it 'end: true' if the conversation ends there",
    ]
    assert out.splitlines()[-1].endswith(
        "chatbotmaker.toml: ok (messenger 'dev', database 'sqlalchemy', rules 'flow'), 3 warnings"
    )
    code, out = check(capsys, config, "--strict")
    assert code == 1
    assert out.splitlines()[-1].endswith("chatbotmaker.toml: 3 problems")
    assert out.splitlines()[0].endswith("nothing changes to it (--strict)")


def test_flow_end_state_is_not_a_dead_end(tmp_path, capsys):
    config = project(
        tmp_path,
        flow=FLOW_WARNINGS.replace(
            '      - say: "stuck here"', '      - say: "bye"\n    end: true'
        ),
    )
    code, out = check(capsys, config)
    assert "'middle'" not in out


PYTHON_WARNINGS = """
from chatbotmaker_core import Dispatcher

def func_welcome(user, text):
    if text == "bye":
        user.change_state("bye")

RULES = {
    "actions": {
        "welcome": Dispatcher.DEFAULT,
        "bye": {"func": lambda user, text: user.send_message("Bye!")},
        "orphan": {"func": lambda user, text: user.change_state("welcome")},
    },
    END
}
"""


def test_python_warnings(tmp_path, capsys):
    config = project(tmp_path, rules=PYTHON_WARNINGS.replace("END", ""))
    code, out = check(capsys, config)
    assert code == 0
    assert out.splitlines()[:2] == [
        "warning: state 'orphan' is unreachable from the start 'welcome': nothing changes to it",
        "warning: state 'bye': nothing leaves it (no go or change_state); list it in the rules' "
        "'end_states' if the conversation ends there",
    ]
    assert main(["check", str(config), "--strict"]) == 1


def test_python_end_states_are_not_dead_ends(tmp_path, capsys):
    config = project(tmp_path, rules=PYTHON_WARNINGS.replace("END", '"end_states": ["bye"]'))
    code, out = check(capsys, config)
    assert code == 0
    assert "'bye'" not in out


def test_dynamic_targets_make_every_state_reachable(tmp_path, capsys):
    config = project(
        tmp_path,
        rules="""
        def welcome(user, text):
            user.change_state(text)

        RULES = {"actions": {"welcome": {"func": welcome}, "other": {"func": welcome}}}
        """,
    )
    code, out = check(capsys, config, "--strict")
    assert code == 0
    assert "warning" not in out
