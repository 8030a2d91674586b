"""Templates of a flow: Jinja2 in a sandbox, with user input as data only.

What a template can see is three names: ``input`` (the text being handled), ``args`` (the
user's arguments: ``args.size``) and ``user`` (``user.id``, ``user.state``). The environment is
Jinja2's immutable sandbox with its globals removed (no ``cycler``, ``range``, ``lipsum``...),
so nothing in a template reaches Python objects. Templates are checked when the flow loads
(syntax, unknown names, any ``_private`` attribute) and compiled on first use, which keeps the
load of a large flow fast. The rendered text is never rendered again: ``{{ 7*7 }}`` typed by a
user is sent back as typed.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, cast

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from ..errors import did_you_mean

NAMES = ("input", "args", "user")
_MARKUP = re.compile(r"\{[{%#]")
#: the longest text a template may build with ``*`` (a guard against "a" * 10**9)
MAX_TEXT = 100_000


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise SecurityError("exponent too large in a template")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
                    if len(sequence) * count > MAX_TEXT:
                        raise SecurityError("a template may not build a text this long")
        return super().call_binop(context, operator, left, right)


def _quote(value: Any) -> str:
    """``'pizza'``: the text in quotes, as Python's ``repr`` writes it."""
    return repr(str(value))


def _environment() -> _Sandbox:
    env = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.globals.clear()
    env.filters["quote"] = _quote
    return env


ENV = _environment()


def is_template(text: str) -> bool:
    return bool(_MARKUP.search(text))


#: ``{{ name.attr | filter }}``: most templates, checked without Jinja's parser (load speed)
_SIMPLE = re.compile(r"\{\{\s*([A-Za-z]\w*)((?:\.[A-Za-z]\w*)*)((?:\s*\|\s*[A-Za-z]\w*)*)\s*\}\}")
_FILTER = re.compile(r"\|\s*(\w+)")


@lru_cache(maxsize=4096)
def check_template(text: str) -> str | None:
    """Why ``text`` cannot be a flow template, or ``None`` if it can."""
    if not is_template(text):
        return None
    if not _MARKUP.search(_SIMPLE.sub("", text)):
        for found in _SIMPLE.finditer(text):
            problem = _unknown_name(found.group(1)) or next(
                filter(None, map(_unknown_filter, _FILTER.findall(found.group(3)))), None
            )
            if problem:
                return problem
        return None
    try:
        tree = ENV.parse(text)
    except TemplateSyntaxError as error:
        return f"template syntax error (line {error.lineno} of the text): {error.message}"
    names = list(tree.find_all(nodes.Name))
    stored = {n.name for n in names if n.ctx != "load"}
    for name in sorted({n.name for n in names if n.ctx == "load"} - stored):
        if _unknown_name(name):
            return _unknown_name(name)
    for node in tree.find_all(nodes.Filter):
        if _unknown_filter(node.name):
            return _unknown_filter(node.name)
    private = [
        name
        for node in tree.find_all((nodes.Getattr, nodes.Getitem))
        for name in [
            node.attr
            if isinstance(node, nodes.Getattr)
            else _constant(cast(nodes.Getitem, node).arg)
        ]
        if isinstance(name, str) and name.startswith("_")
    ]
    if private:
        first = min(private, key=text.find)  # the one written first
        return f"template refused: it reaches the private attribute {first!r}"
    return None


def _unknown_name(name: str) -> str | None:
    if name in NAMES:
        return None
    return (
        f"unknown name {name!r} in template{did_you_mean(name, NAMES)}; "
        f"templates know {', '.join(NAMES)}"
    )


def _unknown_filter(name: str) -> str | None:
    if name in ENV.filters:
        return None
    return f"unknown filter {name!r} in template{did_you_mean(name, ENV.filters)}"


def _constant(node: Any) -> Any:
    return node.value if isinstance(node, nodes.Const) else None


class Arguments:
    """``args`` in a template: ``args.size`` is ``user.get_argument("size")``."""

    __slots__ = ("_user",)

    def __init__(self, user: Any) -> None:
        self._user = user

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._user.get_argument(name)

    __getitem__ = __getattr__


class Text:
    """One text of a flow: plain, or a template compiled on first render."""

    __slots__ = ("source", "_template")

    def __init__(self, source: str) -> None:
        self.source = source
        self._template: Any = None

    def render(self, context: dict[str, Any]) -> str:
        if not is_template(self.source):
            return self.source
        if self._template is None:
            self._template = ENV.from_string(self.source)
        return self._template.render(context)


def context_for(user: Any, text: str | None) -> dict[str, Any]:
    """The three names a template sees during a turn."""
    return {
        "input": text if text is not None else "",
        "args": Arguments(user),
        "user": {"id": user.fb_id, "state": user.state},
    }
