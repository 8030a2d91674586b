"""The pizza bot in Python (examples/pizza) and as a flow (examples/pizza_flow) are one bot:
same replies, states and arguments for the same conversations."""

import itertools
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbotmaker_core.config import build_component, load_config
from chatbotmaker_core.testing import BotHarness

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
VOCABULARY = [
    "hi",
    "order",
    "history",
    "help",
    "small",
    "medium",
    "large",
    "yes",
    "y",
    "no",
    " Order ",
    "LARGE",
    "Yes",
    "",
    "  ",
    "?",
    "olives",
    "{{ 7*7 }}",
    "it's",
    'say "x"',
    "ſmall",
]


def bot_of(example, tmp_path):
    config = load_config(EXAMPLES / example / "chatbotmaker.toml")
    dispatcher = build_component(config, "rules")
    models = "pizza_models" if example == "pizza" else "pizza_orders"
    return BotHarness(
        dispatcher,
        base=sys.modules[models].Base,
        database_url=f"sqlite:///{tmp_path / (example + '.db')}",
        bot_config={"error_message": "Oops"},
    )


@pytest.fixture(scope="module")
def bots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pizzas")
    python, flow = bot_of("pizza", folder), bot_of("pizza_flow", folder)
    yield python, flow
    python.close()
    flow.close()


def turn(harness, user_id, text):
    before = len(harness.messenger.replies)
    texts = harness.say(text, user_id=user_id)
    replies = [reply for _, reply in harness.messenger.replies[before:]]
    user = harness.user(user_id)
    return texts, replies, user.state, harness.database.get_arguments(user_id)


def test_the_scripted_order_is_the_same(bots):
    python, flow = bots
    script = ["hi", "history", "order", "huge", "Large", "  ", "yes", "history", "help", "x"]
    for text in script:
        assert turn(python, "script", text) == turn(flow, "script", text)
    assert flow.say("zzz", user_id="script") == [
        "Sorry, I don't know 'zzz'.",
        "What would you like? (order, history, help)\n  1. order\n  2. history\n  3. help",
    ]
    assert flow.database.get_arguments("script") == {
        "size": None,
        "toppings": None,
        "orders_placed": 1,
    }


_users = itertools.count()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(VOCABULARY) | st.text(max_size=12), min_size=1, max_size=12))
def test_any_conversation_gets_the_same_replies_states_and_arguments(bots, inputs):
    python, flow = bots
    user_id = f"u{next(_users)}"
    for text in inputs:
        assert turn(python, user_id, text) == turn(flow, user_id, text), (inputs, text)
