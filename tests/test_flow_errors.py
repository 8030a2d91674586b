"""Every error of a flow file names where it is: file:line:column, the state and the route."""

import textwrap

import pytest

from chatbotmaker_core import ConfigError
from chatbotmaker_core.flow import load_flow


def load(tmp_path, text, name="bot.flow.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    with pytest.raises(ConfigError) as caught:
        load_flow(path)
    return [problem.replace(str(tmp_path) + "/", "") for problem in caught.value.problems]


def test_misspelt_route_key_is_located_with_a_suggestion(tmp_path):
    problems = load(
        tmp_path,
        """
        flow: 1
        states:
          welcome:
            routes:
              - match: order
                go: welcome
              - match: help
                gp: welcome
        """,
    )
    assert problems == [
        "bot.flow.yaml:8:9: state 'welcome', route 2: unknown key 'gp' (did you mean 'go'?); "
        "allowed: match, regex, store, call, say, quick_replies, buttons, go"
    ]


def test_misspelt_state_key(tmp_path):
    problems = load(
        tmp_path,
        """
        flow: 1
        states:
          welcome:
            route: []
        """,
    )
    assert problems == [
        "bot.flow.yaml:4:5: state 'welcome': unknown key 'route' (did you mean 'routes'?); "
        "allowed: enter, prompt, routes, leave, end"
    ]


def test_misspelt_block_key(tmp_path):
    problems = load(
        tmp_path,
        """
        flow: 1
        states:
          welcome:
            enter:
              sya: hello
        """,
    )
    assert problems == [
        "bot.flow.yaml:5:7: state 'welcome', enter: unknown key 'sya' (did you mean 'say'?); "
        "allowed: store, call, say, quick_replies, buttons, go"
    ]


def test_unknown_go_target_suggests_the_state(tmp_path):
    problems = load(
        tmp_path,
        """
        flow: 1
        states:
          welcome:
            routes:
              - match: order
                go: szie
          size:
            routes:
              - match: small
                go: welcome
        """,
    )
    assert problems == [
        "bot.flow.yaml:6:13: state 'welcome', route 1: unknown state 'szie' "
        "(did you mean 'size'?); states: welcome, size"
    ]


def test_unknown_start(tmp_path):
    problems = load(tmp_path, "flow: 1\nstart: welcom\nstates:\n  welcome: {}\n")
    assert problems == [
        "bot.flow.yaml:2:8: 'start': unknown state 'welcom' (did you mean 'welcome'?); "
        "states: welcome"
    ]


def test_missing_version_and_states(tmp_path):
    problems = load(tmp_path, "start: welcome\n")
    assert problems == [
        "bot.flow.yaml:1:1: flow: missing key 'flow' (flow: 1 is the format version)",
        "bot.flow.yaml:1:1: flow: missing key 'states'",
    ]


def test_wrong_version(tmp_path):
    problems = load(tmp_path, "flow: 2\nstates:\n  welcome: {}\n")
    assert problems == ["bot.flow.yaml:1:7: 'flow': 'flow' must be 1 (the format version), got 2"]


def test_empty_states(tmp_path):
    problems = load(tmp_path, "flow: 1\nstates: {}\n")
    assert problems == ["bot.flow.yaml:2:9: 'states': 'states' must not be empty"]


def test_say_of_the_wrong_type(tmp_path):
    problems = load(
        tmp_path,
        """
        flow: 1
        states:
          welcome:
            prompt:
              say: {text: hello}
        """,
    )
    assert problems == [
        "bot.flow.yaml:5:12: state 'welcome', prompt: 'say' must be a text or a list of texts, "
        "got mapping {'text': 'hello'}"
    ]


def test_match_of_the_wrong_type(tmp_path):
    problems = load(
        tmp_path,
        """
        flow: 1
        states:
          welcome:
            routes:
              - match: 42
        """,
    )
    assert problems == [
        "bot.flow.yaml:5:16: state 'welcome', route 1: 'match' must be a text or a list of "
        "texts, got int 42"
    ]


def test_go_is_refused_in_prompt_and_leave(tmp_path):
    problems = load(
        tmp_path,
        """
        flow: 1
        states:
          welcome:
            prompt:
              say: hi
              go: welcome
            leave:
              go: welcome
        """,
    )
    assert problems == [
        "bot.flow.yaml:6:7: state 'welcome', prompt: 'go' is not allowed in 'prompt'; change "
        "state in a route or in 'enter'",
        "bot.flow.yaml:8:7: state 'welcome', leave: 'go' is not allowed in 'leave'; change "
        "state in a route or in 'enter'",
    ]


def test_match_and_regex_together(tmp_path):
    problems = load(
        tmp_path,
        """
        flow: 1
        states:
          welcome:
            routes:
              - match: a
                regex: b
        """,
    )
    assert problems == [
        "bot.flow.yaml:5:9: state 'welcome', route 1: a route has either 'match' or 'regex', "
        "not both"
    ]


def test_quick_replies_need_a_say(tmp_path):
    problems = load(
        tmp_path,
        """
        flow: 1
        states:
          welcome:
            prompt:
              quick_replies: [a, b]
        """,
    )
    assert problems == [
        "bot.flow.yaml:5:7: state 'welcome', prompt: 'quick_replies' needs a 'say' in the same "
        "block (the options go with the last say)"
    ]


def test_store_value_of_the_wrong_type(tmp_path):
    problems = load(
        tmp_path,
        """
        flow: 1
        states:
          welcome:
            enter:
              store: {size: [1, 2]}
        """,
    )
    assert problems == [
        "bot.flow.yaml:5:21: state 'welcome', enter: 'size' must be a text or a number or "
        "true or false or null, got list [1, 2]"
    ]


def test_end_must_be_a_boolean(tmp_path):
    problems = load(tmp_path, "flow: 1\nstates:\n  bye:\n    end: sure\n")
    assert problems == [
        "bot.flow.yaml:4:10: state 'bye', end: 'end' must be true or false, got text 'sure'"
    ]


def test_invalid_regex(tmp_path):
    problems = load(
        tmp_path,
        """
        flow: 1
        states:
          welcome:
            routes:
              - regex: '(?P<n>\\d+'
        """,
    )
    assert problems == [
        "bot.flow.yaml:5:16: state 'welcome', route 1: invalid regex: missing ), unterminated "
        "subpattern at position 0"
    ]


def test_template_syntax_error(tmp_path):
    problems = load(
        tmp_path,
        """
        flow: 1
        states:
          welcome:
            routes:
              - say: "Hello {{ input "
        """,
    )
    assert problems == [
        "bot.flow.yaml:5:14: state 'welcome', route 1: template syntax error (line 1 of the "
        "text): unexpected end of template, expected 'end of print statement'."
    ]


def test_template_with_an_unknown_name_suggests_one(tmp_path):
    problems = load(
        tmp_path,
        """
        flow: 1
        states:
          welcome:
            enter:
              say: ["Hi", "Hello {{ arg.name }}"]
        """,
    )
    assert problems == [
        "bot.flow.yaml:5:19: state 'welcome', enter: unknown name 'arg' in template (did you "
        "mean 'args'?); templates know input, args, user"
    ]


def test_call_that_does_not_look_like_module_function(tmp_path):
    problems = load(
        tmp_path,
        """
        flow: 1
        states:
          welcome:
            enter:
              call: place_order
        """,
    )
    assert problems == [
        "bot.flow.yaml:5:13: state 'welcome', enter: 'call' must look like 'module:function', "
        "got 'place_order'"
    ]


def test_call_to_a_missing_module_or_function(tmp_path):
    (tmp_path / "flow_actions_a.py").write_text("def hello(user):\n    pass\n")
    problems = load(
        tmp_path,
        """
        flow: 1
        states:
          welcome:
            enter:
              call: "flow_actions_a:helo"
            routes:
              - call: "flow_actions_a:hello"
              - call: "no_such_module_x:hello"
        """,
    )
    assert problems[0] == (
        "bot.flow.yaml:5:13: state 'welcome', enter: module 'flow_actions_a' has no attribute "
        "'helo'"
    )
    assert problems[1] == (
        "bot.flow.yaml:7:15: state 'welcome', route 1: call 'flow_actions_a:hello' must accept "
        "(user, user_input) here"
    )
    assert problems[2].startswith(
        "bot.flow.yaml:8:15: state 'welcome', route 2: cannot import module 'no_such_module_x' "
        "(No module named 'no_such_module_x')"
    )


def test_duplicate_key(tmp_path):
    problems = load(tmp_path, "flow: 1\nstates:\n  a: {}\n  a: {}\n")
    assert problems == [
        "bot.flow.yaml:4:3: duplicate key 'a'; each key may appear once in a mapping"
    ]


def test_yaml_syntax_error(tmp_path):
    problems = load(tmp_path, "flow: 1\nstates:\n  a: [b\n")
    assert len(problems) == 1
    assert problems[0].startswith("bot.flow.yaml:4:1: not valid YAML: ")


def test_missing_file_names_it(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_flow(tmp_path / "nope.flow.yaml")
    assert str(caught.value) == (
        f"flow file {str(tmp_path / 'nope.flow.yaml')!r} not found; 'source' is relative to the "
        f"config's folder"
    )


def test_every_problem_is_reported_in_one_error(tmp_path):
    path = tmp_path / "bot.flow.yaml"
    path.write_text("flow: 1\nstates:\n  a:\n    routes:\n      - go: b\n      - go: c\n")
    with pytest.raises(ConfigError) as caught:
        load_flow(path)
    assert str(caught.value).startswith(f"{path}: 2 problems: {path}:5:13: state 'a', route 1:")


def test_unknown_filter_in_a_simple_and_in_a_full_template(tmp_path):
    problems = load(
        tmp_path,
        """
        flow: 1
        states:
          welcome:
            prompt:
              say: ["{{ input | qoute }}", "{{ (input | upper) or args.x | lowr }}"]
        """,
    )
    assert problems == [
        "bot.flow.yaml:5:13: state 'welcome', prompt: unknown filter 'qoute' in template "
        "(did you mean 'quote'?)",
        "bot.flow.yaml:5:36: state 'welcome', prompt: unknown filter 'lowr' in template "
        "(did you mean 'lower'?)",
    ]
