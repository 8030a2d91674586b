"""chatbotmaker graph: the examples' state machines as JSON, Mermaid and DOT."""

import json
import re
import textwrap
from pathlib import Path

import pytest

from chatbotmaker_core.cli import main
from chatbotmaker_core.graph import graph_from_config

ROOT = Path(__file__).resolve().parent.parent
PIZZA = ROOT / "examples" / "pizza" / "chatbotmaker.toml"
PIZZA_FLOW = ROOT / "examples" / "pizza_flow" / "chatbotmaker.toml"
STATES = ["welcome", "menu", "size", "toppings", "confirm", "help"]


def graph(capsys, config, *options):
    assert main(["graph", str(config), *options]) == 0
    return capsys.readouterr().out


def edge(source, target, label=None):
    return {"source": source, "target": target, "label": label}


def test_json_of_the_python_pizza(capsys):
    assert json.loads(graph(capsys, PIZZA, "--format", "json")) == {
        "start": "welcome",
        "states": STATES,
        "transitions": [
            edge("welcome", "menu"),  # a lambda
            edge("menu", "size"),
            edge("menu", "help"),
            edge("size", "toppings"),
            edge("toppings", "confirm"),
            edge("confirm", "menu"),
            edge("help", "menu"),  # func_help, bound by Dispatcher.DEFAULT
        ],
    }


def test_json_of_the_pizza_flow(capsys):
    assert json.loads(graph(capsys, PIZZA_FLOW, "--format", "json")) == {
        "start": "welcome",
        "states": STATES,
        "transitions": [
            edge("welcome", "menu"),
            edge("menu", "size", "order"),
            edge("menu", "help", "help"),
            edge("size", "toppings", "small | medium | large"),
            edge("toppings", "confirm"),
            edge("confirm", "menu", "yes | y"),
            edge("confirm", "menu"),
            edge("help", "menu"),
        ],
    }


def read_mermaid(text):
    """A small reader of the stateDiagram-v2 subset we write: the graph as JSON-like data."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines[0] == "stateDiagram-v2"
    names, start, ends, transitions, order = {}, None, [], [], []
    for line in lines[1:]:
        declared = re.fullmatch(r'state "([^"]*)" as (\w+)', line)
        arrow = re.fullmatch(r"(\[\*\]|\w+) --> (\[\*\]|\w+)(?:: (.*))?", line)
        if declared:
            names[declared.group(2)] = declared.group(1)
        elif arrow:
            source, target, label = arrow.groups()
            if source == "[*]":
                start = names.get(target, target)
            elif target == "[*]":
                ends.append(names.get(source, source))
            else:
                source, target = names.get(source, source), names.get(target, target)
                transitions.append(edge(source, None if target == "?" else target, label))
                for name in (source, target):
                    if name not in order and name != "?":
                        order.append(name)
        else:
            pytest.fail(f"not a line of our Mermaid subset: {line!r}")
    return {"start": start, "transitions": transitions, "ends": ends, "seen": order}


@pytest.mark.parametrize("config", [PIZZA, PIZZA_FLOW])
def test_mermaid_says_what_json_says(capsys, config):
    expected = json.loads(graph(capsys, config, "--format", "json"))
    diagram = read_mermaid(graph(capsys, config))  # mermaid is the default
    assert diagram["start"] == expected["start"]
    assert diagram["transitions"] == expected["transitions"]
    assert diagram["ends"] == []


def test_mermaid_aliases_awkward_names_and_draws_ends_and_dynamic_targets(tmp_path, capsys):
    (tmp_path / "graph_rules_a.py").write_text(
        textwrap.dedent(
            """
            NEXT = {"a": "end"}

            def go(user, text):
                user.change_state(NEXT[text])

            RULES = {
                "actions": {
                    "welcome": {"func": lambda user, text: user.change_state("the end")},
                    "the end": {"func": go},
                    "end": {"func": lambda user, text: None},
                },
                "end_states": ["end"],
            }
            """
        )
    )
    config = tmp_path / "chatbotmaker.toml"
    config.write_text(
        '[messenger]\nname = "dev"\n[rules]\nname = "python"\nsource = "graph_rules_a:RULES"\n'
    )
    text = graph(capsys, config)
    assert read_mermaid(text) == {
        "start": "welcome",
        "transitions": [edge("welcome", "the end"), edge("the end", None, "dynamic")],
        "ends": ["end"],
        "seen": ["welcome", "the end"],
    }
    assert 'state "end" as s2' in text  # `end` is a Mermaid keyword


def test_dot_output_to_a_file(tmp_path, capsys):
    out = tmp_path / "pizza.dot"
    assert main(["graph", str(PIZZA_FLOW), "--format", "dot", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    dot = out.read_text()
    assert dot.startswith('digraph "chatbotmaker" {\n')
    assert '    "[start]" -> "welcome";\n' in dot
    assert '    "size" -> "toppings" [label="small | medium | large"];\n' in dot
    assert dot.count(" -> ") == 9


def test_python_rules_are_read_statically_through_helpers(tmp_path):
    (tmp_path / "graph_helpers_b.py").write_text(
        textwrap.dedent(
            """
            import graph_helpers_c as other
            from chatbotmaker_core import Dispatcher

            def finish(user):
                user.change_state("done")

            def check(user, text):
                if text == "x":
                    finish(user)
                other.later(user)

            def func_done(user, text):
                raise RuntimeError("never runs: the graph reads the source")

            RULES = {
                "actions": {
                    "welcome": {"func": check, "pre_func": lambda u: u.change_state(name="ask")},
                    "ask": {"func": lambda user, text: user.change_state(text)},
                    "done": Dispatcher.DEFAULT,
                    "later": {"func": func_done},
                }
            }
            """
        )
    )
    (tmp_path / "graph_helpers_c.py").write_text(
        "def later(user):\n    step(user)\n\ndef step(user):\n    user.change_state('later')\n"
    )
    config = tmp_path / "chatbotmaker.toml"
    config.write_text(
        '[messenger]\nname = "dev"\n[rules]\nname = "python"\nsource = "graph_helpers_b:RULES"\n'
    )
    result = graph_from_config(config)
    assert result.as_dict()["transitions"] == [
        edge("welcome", "ask"),
        edge("welcome", "done"),
        edge("welcome", "later"),
        edge("ask", None, "dynamic"),
    ]
    where = {t.target: t.where for t in result.transitions}
    assert where["later"] == f"{tmp_path / 'graph_helpers_c.py'}:5:5"
