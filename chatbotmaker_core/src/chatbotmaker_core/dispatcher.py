"""The rules of a bot: which handlers each state has, validated once at construction."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, UnknownStateError, did_you_mean

if TYPE_CHECKING:
    from .user import UserMixin

#: a state's handler: ``func(user, user_input)``, or ``pre_func(user)`` and the others; what it
#: returns is ignored. Loose on purpose: an application annotates ``user`` with its own ORM
#: class (a subclass of ``UserMixin``), which a stricter callable type would refuse.
Handler = Callable[..., Any]
#: one state: handler key (``func``, ``pre_func``...) -> handler
StateHandlers = dict[str, Handler]

#: handler key -> the arguments it is called with after ``user``
HANDLER_KEYS: dict[str, tuple[str, ...]] = {
    "func": ("user", "user_input"),
    "enter_func": ("user",),
    "pre_func": ("user",),
    "post_func": ("user",),
}


class _Default:
    def __repr__(self) -> str:
        return "Dispatcher.DEFAULT"


class Dispatcher:
    """Holds the states of a bot and runs their handlers.

    ``config`` is ``{"actions": {state: {"func": ..., ...} or Dispatcher.DEFAULT}}``. A state
    given as ``DEFAULT`` binds ``func_<state>``, ``pre_func_<state>``, ``post_func_<state>`` and
    ``enter_func_<state>`` from ``env`` (usually ``globals()``).
    """

    DEFAULT: Any = _Default()

    def __init__(self, config: Mapping[str, Any], env: Mapping[str, Any] | None = None) -> None:
        self.config = {**config, "actions": _resolve(config, env)}
        self.actions: dict[str, StateHandlers] = self.config["actions"]

    @property
    def states(self) -> list[str]:
        return list(self.actions)

    def has_state(self, name: str) -> bool:
        return name in self.actions

    def check_state(self, name: str) -> None:
        """Raise :class:`UnknownStateError` unless ``name`` is a state of this dispatcher."""
        if name not in self.actions:
            raise UnknownStateError(name, self.actions)

    def execute_event(self, user: UserMixin, name: str, *args: Any) -> object:
        """Run handler ``name`` of the state ``user`` is in, if that state has one."""
        callback = self.actions[user.state].get(name)
        if callback is not None:
            return callback(user, *args)
        return None

    def execute_func(self, user: UserMixin, user_input: str | None) -> object:
        return self.execute_event(user, "func", user_input)

    def execute_enter_func(self, user: UserMixin) -> object:
        return self.execute_event(user, "enter_func")

    def execute_pre_func(self, user: UserMixin) -> object:
        return self.execute_event(user, "pre_func")

    def execute_post_func(self, user: UserMixin) -> object:
        return self.execute_event(user, "post_func")


def _resolve(config: Mapping[str, Any], env: Mapping[str, Any] | None) -> dict[str, StateHandlers]:
    """Bind DEFAULT states and validate every state, reporting all problems at once."""
    if not isinstance(config, Mapping) or not isinstance(config.get("actions"), Mapping):
        raise ConfigError(
            "dispatcher config needs an 'actions' dict mapping state names to handlers, "
            "e.g. {'actions': {'welcome': {'func': ...}}}"
        )
    problems: list[str] = []
    actions: dict[str, StateHandlers] = {}
    for state, handlers in config["actions"].items():
        if handlers is Dispatcher.DEFAULT:
            handlers = _bind_default(state, env, problems)
        elif not isinstance(handlers, Mapping):
            problems.append(
                f"state {state!r}: expected a dict of handlers or Dispatcher.DEFAULT, "
                f"got {type(handlers).__name__}"
            )
            continue
        if handlers is not None:
            problems.extend(_check_state(state, handlers))
            actions[state] = dict(handlers)
    if not actions and not problems:
        problems.append("dispatcher config has no states: add at least one under 'actions'")
    if problems:
        raise ConfigError("invalid dispatcher config: " + "; ".join(problems), problems)
    return actions


def _bind_default(
    state: str, env: Mapping[str, Any] | None, problems: list[str]
) -> StateHandlers | None:
    if env is None:
        problems.append(
            f"state {state!r} is Dispatcher.DEFAULT but no env was given: "
            f"pass Dispatcher(config, env=globals())"
        )
        return None
    handlers = {key: env[f"{key}_{state}"] for key in HANDLER_KEYS if f"{key}_{state}" in env}
    if "func" not in handlers:
        problems.append(
            f"state {state!r} is Dispatcher.DEFAULT but env has no function 'func_{state}': "
            f"define func_{state}(user, user_input)"
        )
        return None
    return handlers


def _check_state(state: str, handlers: Mapping[str, Any]) -> list[str]:
    problems = []
    for key, value in handlers.items():
        if key not in HANDLER_KEYS:
            problems.append(
                f"state {state!r}: unknown key {key!r}{did_you_mean(key, HANDLER_KEYS)}; "
                f"allowed keys: {', '.join(HANDLER_KEYS)}"
            )
        elif not callable(value):
            problems.append(
                f"state {state!r}: {key!r} is not callable (got {type(value).__name__}); "
                f"it must be a function taking ({', '.join(HANDLER_KEYS[key])})"
            )
        elif not _accepts(value, len(HANDLER_KEYS[key])):
            problems.append(
                f"state {state!r}: {key!r} must accept ({', '.join(HANDLER_KEYS[key])})"
            )
    if "func" not in handlers:
        problems.append(f"state {state!r}: missing required key 'func' (func(user, user_input))")
    return problems


def _accepts(function: Callable[..., Any], count: int) -> bool:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # builtins without a signature: trust them
        return True
    try:
        signature.bind(*([None] * count))
    except TypeError:
        return False
    return True
