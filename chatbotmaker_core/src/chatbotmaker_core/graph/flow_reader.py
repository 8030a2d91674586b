"""Transitions of a flow: exact (``go``), plus what its ``call`` functions change statically."""

from __future__ import annotations

from ..flow.model import Block, Flow
from .model import ShadowedRoute, Transition
from .python_reader import function_targets


def flow_transitions(flow: Flow) -> tuple[list[Transition], list[ShadowedRoute]]:
    transitions: list[Transition] = []
    shadowed: list[ShadowedRoute] = []
    for name, state in flow.states.items():
        if state.enter is not None:
            transitions += _block(flow, name, state.enter, None)
        catch_all = None
        for index, route in enumerate(state.routes, 1):
            if catch_all is not None:
                where = flow.document.where(route.path)
                shadowed.append(ShadowedRoute(name, index, catch_all, where))
            elif route.catch_all:
                catch_all = index
            transitions += _block(flow, name, route, route.label)
        for block in (state.prompt, state.leave):
            if block is not None:
                transitions += _block(flow, name, block, None)
    return transitions, shadowed


def _block(flow: Flow, state: str, block: Block, label: str | None) -> list[Transition]:
    found = []
    if block.call is not None:
        for target, where in function_targets(block.call):
            found.append(Transition(state, target, "dynamic" if target is None else label, where))
    if block.go is not None:
        where = flow.document.where((*block.path, "go"))
        found.append(Transition(state, block.go, label, where))
    return found
