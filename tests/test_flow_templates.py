"""Flow templates run in a sandbox: user input is data, templates never reach Python."""

import textwrap

import pytest

from chatbotmaker_core import ConfigError
from chatbotmaker_core.flow import load_flow, parse_flow
from chatbotmaker_core.flow.compiler import compile_flow
from chatbotmaker_core.testing import BotHarness


def flow_bot(text, tmp_path):
    flow = parse_flow(textwrap.dedent(text).lstrip("\n"), "bot.flow.yaml", folder=tmp_path)
    return BotHarness(compile_flow(flow), bot_config={"error_message": "Oops"})


ECHO = """
flow: 1
states:
  welcome:
    routes:
      - regex: '^(?P<count>\\d+) (?P<thing>\\w+)$'
        say: "{{ args.count }} {{ args.thing }} noted, {{ user.id }}."
      - say: "You said: {{ input }}"
"""


def test_user_input_is_echoed_literally_never_rendered(tmp_path):
    with flow_bot(ECHO, tmp_path) as bot:
        assert bot.say("{{ 7*7 }}") == ["You said: {{ 7*7 }}"]
        assert bot.say("{% for x in 'ab' %}{{x}}{% endfor %}") == [
            "You said: {% for x in 'ab' %}{{x}}{% endfor %}"
        ]


def test_regex_named_groups_are_stored_as_arguments(tmp_path):
    with flow_bot(ECHO, tmp_path) as bot:
        assert bot.say("3 pizzas") == ["3 pizzas noted, user."]
        assert bot.arguments == {"count": "3", "thing": "pizzas"}
        assert bot.say("3 PIZZAS!") == ["You said: 3 PIZZAS!"]


@pytest.mark.parametrize(
    "template, refusal",
    [
        (
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            "template refused: it reaches the private attribute '__class__'",
        ),
        (
            "{{ input['__class__'] }}",
            "template refused: it reaches the private attribute '__class__'",
        ),
        (
            "{{ cycler.__init__.__globals__ }}",
            "unknown name 'cycler' in template; templates know input, args, user",
        ),
        (
            "{{ lipsum.__globals__['os'] }}",
            "unknown name 'lipsum' in template; templates know input, args, user",
        ),
        ("{{ range(10) }}", "unknown name 'range' in template; templates know input, args, user"),
    ],
)
def test_escape_attempts_are_refused_when_the_flow_loads(tmp_path, template, refusal):
    path = tmp_path / "bot.flow.yaml"
    path.write_text(f'flow: 1\nstates:\n  welcome:\n    routes:\n      - say: "{template}"\n')
    with pytest.raises(ConfigError) as caught:
        load_flow(path)
    assert caught.value.problems == [f"{path}:5:14: state 'welcome', route 1: {refusal}"]


def test_the_sandbox_refuses_at_render_what_the_load_check_cannot_see(tmp_path):
    # |attr builds the attribute name at render time: the sandbox itself refuses it, the turn
    # rolls back and the user gets the error reply.
    text = """
    flow: 1
    states:
      welcome:
        routes:
          - store: {name: "__class__"}
            go: other
      other:
        routes:
          - say: "{{ input | attr(args.name) }}"
    """
    with flow_bot(text, tmp_path) as bot:
        bot.say("hi")
        assert bot.say("again", allow_errors=True) == ["Oops"]
        assert isinstance(bot.last.error, Exception)
        assert "__class__" in str(bot.last.error)
        assert bot.state == "other"


def test_huge_texts_are_refused(tmp_path):
    text = """
    flow: 1
    states:
      welcome:
        routes:
          - say: "{{ input * 1000000 }}"
    """
    with flow_bot(text, tmp_path) as bot:
        assert bot.say("ab", allow_errors=True) == ["Oops"]
        assert bot.state is None  # the new user's first turn rolled back whole


def test_quick_replies_and_buttons_go_with_the_last_say(tmp_path):
    text = """
    flow: 1
    states:
      welcome:
        prompt:
          say: ["One", "Two {{ args.n }}"]
          quick_replies: [a, "b{{ args.n }}"]
          buttons: [c]
        routes:
          - store: {n: 5}
    """
    with flow_bot(text, tmp_path) as bot:
        bot.say("hi")
        replies = [reply for _, reply in bot.messenger.replies]
        assert [r.text for r in replies] == ["One", "Two 5"]
        assert [q.title for q in replies[1].quick_replies] == ["a", "b5"]
        assert [b.title for b in replies[1].buttons] == ["c"]
        assert bot.arguments == {"n": 5}
