"""Transitions of Python rules, read from the source with ``ast``; no handler runs.

For each handler of each state we find its definition (a ``def`` or a ``lambda``, DEFAULT-bound
or not) and look for ``<anything>.change_state(...)``. A literal argument is a transition; any
other is ``dynamic``. Calls to module-level functions (``helper(user)``, ``module.helper(user)``)
are followed, transitively, so a ``change_state`` inside a helper counts for the state whose
handler calls it.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sysconfig
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .model import Transition

HANDLER_ORDER = ("pre_func", "func", "enter_func", "post_func")
_STDLIB = str(Path(sysconfig.get_paths()["stdlib"]).resolve())


def python_transitions(actions: dict[str, dict[str, Any]]) -> list[Transition]:
    transitions = []
    for state, handlers in actions.items():
        for key in HANDLER_ORDER:
            if handlers.get(key) is not None:
                for target, where in function_targets(handlers[key]):
                    label = "dynamic" if target is None else None
                    transitions.append(Transition(state, target, label, where))
    return transitions


def function_targets(function: Any) -> list[tuple[str | None, str]]:
    """``(target or None, "file:line:column")`` of each change_state reachable from it."""
    return list(_targets(function, set()))


def _targets(function: Any, seen: set[Any]) -> Iterator[tuple[str | None, str]]:
    function = _plain_function(function)
    if function is None or function.__code__ in seen:
        return
    seen.add(function.__code__)
    code = function.__code__
    for node in _definitions(code):
        calls = [call for call in ast.walk(node) if isinstance(call, ast.Call)]
        for call in sorted(calls, key=lambda call: (call.lineno, call.col_offset)):
            if isinstance(call.func, ast.Attribute) and call.func.attr == "change_state":
                yield _literal(call), f"{code.co_filename}:{call.lineno}:{call.col_offset + 1}"
            else:
                callee = _callee(call.func, function.__globals__)
                if callee is not None:
                    yield from _targets(callee, seen)


def _plain_function(function: Any) -> types.FunctionType | None:
    while isinstance(function, functools.partial):
        function = function.func
    function = inspect.unwrap(getattr(function, "__func__", function))
    if not isinstance(function, types.FunctionType):
        return None
    file = function.__code__.co_filename
    if file.startswith("<") or str(Path(file).resolve()).startswith(_STDLIB):
        return None
    if function.__module__.startswith("chatbotmaker_core"):
        return None
    return function


def _literal(call: ast.Call) -> str | None:
    argument = call.args[0] if call.args else None
    for keyword in call.keywords:
        if keyword.arg == "name":
            argument = keyword.value
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return argument.value
    return None


def _callee(node: ast.expr, namespace: dict[str, Any]) -> Any:
    """The module-level function a call names, if it names one."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        owner = namespace.get(node.value.id)
        if isinstance(owner, types.ModuleType):
            return getattr(owner, node.attr, None)
    return None


def _definitions(code: types.CodeType) -> list[ast.AST]:
    """The ``def`` or ``lambda`` nodes ``code`` was compiled from (several lambdas on one
    line cannot be told apart: all of them)."""
    tree = _parse(code.co_filename)
    if tree is None:
        return []
    line = code.co_firstlineno
    found: list[ast.AST] = []
    for node in ast.walk(tree):
        if code.co_name == "<lambda>" and isinstance(node, ast.Lambda):
            if node.lineno == line:
                found.append(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            if node.name == code.co_name and line in (first, node.lineno):
                found.append(node)
    if len(found) > 1 and code.co_name == "<lambda>":
        same = [n for n in found if len(n.args.args) == code.co_argcount]  # type: ignore[attr-defined]
        found = same or found
    return found


@functools.lru_cache(maxsize=256)
def _parse(file: str) -> ast.Module | None:
    try:
        return ast.parse(Path(file).read_text(encoding="utf-8"), filename=file)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
