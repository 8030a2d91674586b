"""A flow compiled to a :class:`~chatbotmaker_core.Dispatcher`: one closure per handler.

``enter`` becomes ``pre_func``, ``prompt`` ``enter_func``, ``leave`` ``post_func`` and the
routes ``func``, so a flow runs through exactly the same turn as Python rules (call order,
transaction, outbox, rollback on error).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..dispatcher import Dispatcher
from ..errors import ChatbotmakerError
from ..message import Button, QuickReply, Reply
from .model import Block, Flow, Route
from .templates import Text, context_for


def compile_flow(flow: Flow) -> Dispatcher:
    actions: dict[str, dict[str, Callable[..., Any]]] = {}
    for name, state in flow.states.items():
        handlers: dict[str, Callable[..., Any]] = {"func": _routes_handler(state.routes)}
        if state.enter is not None:
            handlers["pre_func"] = _block_handler(state.enter)
        if state.prompt is not None:
            handlers["enter_func"] = _block_handler(state.prompt)
        if state.leave is not None:
            handlers["post_func"] = _block_handler(state.leave)
        actions[name] = handlers
    config: dict[str, Any] = {
        "actions": actions,
        "end_states": [name for name, state in flow.states.items() if state.end],
        "flow": flow,
    }
    if flow.start is not None:
        config["initial_state"] = flow.start
    return Dispatcher(config)


def _message_text(user: Any) -> str | None:
    try:
        return user.message.text
    except ChatbotmakerError:  # outside a turn (a test calling the handler itself)
        return None


def _block_handler(block: Block) -> Callable[[Any], None]:
    def handler(user: Any) -> None:
        run_block(block, user, _message_text(user), in_route=False)

    return handler


def _routes_handler(routes: list[Route]) -> Callable[[Any, Any], None]:
    def func(user: Any, user_input: Any) -> None:
        text = "" if user_input is None else str(user_input)
        normal = text.strip().lower()
        for route in routes:
            if route.match is not None:
                if normal not in route.match:
                    continue
            elif route.regex is not None:
                found = route.regex.search(text)
                if found is None:
                    continue
                for name, value in found.groupdict().items():
                    user.store_argument(name, value)
            run_block(route, user, text, in_route=True)
            return

    return func


def run_block(block: Block, user: Any, text: str | None, *, in_route: bool) -> None:
    """The actions of one block, in their fixed order."""
    if block.store:
        context = context_for(user, text)
        for name, value in block.store.items():
            user.store_argument(name, value.render(context) if isinstance(value, Text) else value)
    if block.call is not None:
        if in_route:
            block.call(user, text)
        else:
            block.call(user)
    if block.say:
        context = context_for(user, text)
        texts = [template.render(context) for template in block.say]
        for line in texts[:-1]:
            user.send_message(line)
        quick = tuple(QuickReply(t.render(context)) for t in block.quick_replies)
        buttons = tuple(Button(t.render(context)) for t in block.buttons)
        if quick or buttons:
            user.turn.add_reply(Reply(texts[-1], quick_replies=quick, buttons=buttons))
        else:
            user.send_message(texts[-1])
    if block.go is not None:
        user.change_state(block.go)
