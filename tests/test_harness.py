"""The testing helper bot authors use: BotHarness.say()."""

import sys
from pathlib import Path

import pytest

from chatbotmaker_core.testing import BotHarness, HandlerError

PIZZA = Path(__file__).resolve().parent.parent / "examples" / "pizza"


@pytest.fixture
def pizza(monkeypatch):
    monkeypatch.syspath_prepend(str(PIZZA))
    import pizza_models
    import pizza_rules

    with BotHarness(pizza_rules.RULES, env=vars(pizza_rules), base=pizza_models.Base) as harness:
        yield harness
    sys.modules.pop("pizza_rules", None)


def test_say_returns_replies_and_exposes_state(pizza):
    assert pizza.state is None
    assert pizza.say("hi") == [
        "Welcome to Pizza Bot!",
        "What would you like? (order, history, help)\n  1. order\n  2. history\n  3. help",
    ]
    assert pizza.state == "menu"
    assert pizza.say("order") == ["Which size? small, medium or large"]
    pizza.say("large")
    pizza.say("ham")
    assert pizza.arguments == {"size": "large", "toppings": "ham"}
    assert pizza.say("yes")[0] == "Order placed! It will be ready in 20 minutes."
    assert pizza.arguments == {"size": None, "toppings": None, "orders_placed": 1}
    assert pizza.state == "menu"


def test_users_are_separate_and_redelivery_is_ignored(pizza):
    pizza.say("hi", user_id="a")
    pizza.say("order", user_id="a", message_id="same")
    assert pizza.say("order", user_id="a", message_id="same") == []
    assert pizza.last.duplicate
    pizza.say("hi", user_id="b")
    assert pizza.user("a").state == "size"
    assert pizza.user("b").state == "menu"


def test_quick_replies_are_recorded_structurally(pizza):
    pizza.say("hi")
    _, reply = pizza.messenger.replies[-1]
    assert [q.title for q in reply.quick_replies] == ["order", "history", "help"]


def readme_example() -> str:
    """The Python block of the README's "Testing your bot" section, as written there."""
    readme = (PIZZA.parent.parent / "README.md").read_text()
    section = readme.split("## Testing your bot", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_runs_against_the_pizza_example(monkeypatch):
    monkeypatch.syspath_prepend(str(PIZZA))
    namespace: dict = {}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    namespace["test_order"]()  # its assertions are the test
    sys.modules.pop("pizza_rules", None)


def test_a_failing_handler_fails_say_with_its_own_error(monkeypatch):
    # The README's example without base=: the bot's own tables are missing, user.orders fails.
    monkeypatch.syspath_prepend(str(PIZZA))
    import pizza_rules

    with BotHarness(pizza_rules.RULES, env=vars(pizza_rules)) as bot:
        bot.say("hi")
        with pytest.raises(HandlerError) as failure:
            bot.say("history")
        assert str(failure.value) == (
            "a handler failed on 'history' from user 'user' in state 'menu' (turn rolled back): "
            "AttributeError: 'User' object has no attribute 'orders'; "
            "say(..., allow_errors=True) to get the apology instead"
        )
        assert isinstance(failure.value.__cause__, AttributeError)
        assert bot.say("history", allow_errors=True) == [
            "Sorry, something went wrong on our side. Please try again."
        ]
    sys.modules.pop("pizza_rules", None)
