"""Dispatcher validation: every problem names the state and the key at fault."""

import pytest

from chatbotmaker_core import ConfigError, Dispatcher


def ok(user, user_input):
    pass


def test_misspelt_key_suggests_the_right_one():
    with pytest.raises(ConfigError) as error:
        Dispatcher({"actions": {"welcome": {"func": ok, "pref_func": lambda user: None}}})
    message = str(error.value)
    assert "state 'welcome'" in message
    assert "unknown key 'pref_func'" in message
    assert "did you mean 'pre_func'?" in message


def test_missing_func_names_state():
    with pytest.raises(ConfigError, match=r"state 'home': missing required key 'func'"):
        Dispatcher({"actions": {"home": {"pre_func": lambda user: None}}})


def test_not_callable_names_state_and_key():
    with pytest.raises(
        ConfigError, match=r"state 'home': 'enter_func' is not callable \(got str\)"
    ):
        Dispatcher({"actions": {"home": {"func": ok, "enter_func": "lambda user: 1"}}})


def test_wrong_arity_is_reported():
    with pytest.raises(ConfigError, match=r"state 'home': 'func' must accept \(user, user_input\)"):
        Dispatcher({"actions": {"home": {"func": lambda user: None}}})


def test_default_without_env_or_function():
    with pytest.raises(ConfigError, match=r"no env was given"):
        Dispatcher({"actions": {"help": Dispatcher.DEFAULT}})
    with pytest.raises(ConfigError, match=r"env has no function 'func_help'"):
        Dispatcher({"actions": {"help": Dispatcher.DEFAULT}}, env={"pre_func_help": ok})


def test_all_problems_are_reported_together():
    with pytest.raises(ConfigError) as error:
        Dispatcher(
            {"actions": {"a": {"pref_func": ok}, "b": "nope", "c": Dispatcher.DEFAULT}}, env={}
        )
    problems = error.value.problems
    assert len(problems) == 4, problems
    assert any("state 'b'" in p for p in problems)
    assert any("func_c" in p for p in problems)


def test_default_binds_all_four_from_env():
    def func_help(user, user_input):
        pass

    def pre_func_help(user):
        pass

    def post_func_help(user):
        pass

    def enter_func_help(user):
        pass

    dispatcher = Dispatcher({"actions": {"help": Dispatcher.DEFAULT}}, env=locals())
    assert dispatcher.actions["help"] == {
        "func": func_help,
        "pre_func": pre_func_help,
        "post_func": post_func_help,
        "enter_func": enter_func_help,
    }


def test_config_is_not_mutated_and_is_required():
    config = {"actions": {"help": Dispatcher.DEFAULT}}
    Dispatcher(config, env={"func_help": ok})
    assert config["actions"]["help"] is Dispatcher.DEFAULT
    with pytest.raises(ConfigError, match="'actions'"):
        Dispatcher({})
