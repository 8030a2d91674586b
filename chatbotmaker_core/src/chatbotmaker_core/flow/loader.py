"""Loading a flow file: read, validate against the schema, check meaning, compile.

Every problem found is reported, not only the first, each as ``file:line:column: state
'menu', route 2: what is wrong (and what fixes it)``, in one :class:`ConfigError`.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path
from typing import Any

from ..config import import_object
from ..dispatcher import Dispatcher
from ..errors import ConfigError
from .compiler import compile_flow
from .model import Block, Flow, Route, State
from .schema import describe, suggestion, validate
from .templates import Text, check_template
from .yamlnodes import Document, read_yaml

_ACTIONS = ("store", "call", "say", "quick_replies", "buttons", "go")


def load_flow(path: str | Path, *, folder: str | Path | None = None) -> Dispatcher:
    """The Dispatcher of the flow file at ``path``.

    ``folder`` is where ``call`` modules are imported from (the config file's folder; by
    default the flow file's own).
    """
    return compile_flow(read_flow(path, folder=folder))


def read_flow(path: str | Path, *, folder: str | Path | None = None) -> Flow:
    """The validated :class:`Flow` of a file, without compiling it (the graph reads this)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"flow file {str(path)!r} not found; 'source' is relative to the config's folder"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"flow file {str(path)!r} cannot be read: {error}") from None
    return parse_flow(text, str(path), folder=folder or path.resolve().parent)


def parse_flow(text: str, file: str, *, folder: str | Path | None = None) -> Flow:
    """The validated :class:`Flow` of ``text``; ``file`` names it in errors."""
    document = read_yaml(text, file)
    problems = [message for _, message in validate(document)]
    if problems:
        raise _error(file, problems)
    if folder is not None:
        _importable(Path(folder))
    builder = _Builder(document)
    flow = builder.build()
    if builder.problems:
        raise _error(file, [message for _, message in sorted(builder.problems)])
    return flow


def _error(file: str, problems: list[str]) -> ConfigError:
    count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
    message = problems[0] if len(problems) == 1 else f"{file}: {count}: " + "; ".join(problems)
    return ConfigError(message, problems)


def _importable(folder: Path) -> None:
    """``call`` modules sit beside the config, as its rules modules do."""
    entry = str(folder.resolve())
    if entry not in sys.path:
        sys.path.insert(0, entry)


class _Builder:
    """Turns validated data into a :class:`Flow`, collecting problems of meaning."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.states: dict[str, Any] = document.data["states"]
        self.problems: list[tuple[tuple[int, int], str]] = []

    def problem(self, path: tuple[Any, ...], text: str, *, key: bool = False) -> None:
        where = self.document.where(path, key=key)
        position = self.document.values.get(path) or self.document.keys.get(path)
        order = (position.line, position.column) if position else (0, 0)
        self.problems.append((order, f"{where}: {describe(path)}: {text}"))

    def build(self) -> Flow:
        start = self.document.data.get("start")
        if start is not None:
            self.target(("start",), start)
        states = {name: self.state(name, data) for name, data in self.states.items()}
        return Flow(document=self.document, states=states, start=start)

    def target(self, path: tuple[Any, ...], name: str) -> None:
        if name not in self.states:
            self.problem(
                path,
                f"unknown state {name!r}{suggestion(name, self.states)}; "
                f"states: {', '.join(self.states)}",
            )

    def state(self, name: str, data: dict[str, Any]) -> State:
        base = ("states", name)
        state = State(name=name, end=bool(data.get("end", False)))
        for section in ("enter", "prompt", "leave"):
            if section in data:
                block = Block(path=(*base, section))
                self.actions(block, data[section], in_route=False)
                setattr(state, section, block)
        for index, route_data in enumerate(data.get("routes", [])):
            route = Route(path=(*base, "routes", index))
            self.condition(route, route_data)
            self.actions(route, route_data, in_route=True)
            state.routes.append(route)
        return state

    def condition(self, route: Route, data: dict[str, Any]) -> None:
        if "match" in data:
            raw = data["match"] if isinstance(data["match"], list) else [data["match"]]
            route.raw_match = tuple(raw)
            route.match = tuple(text.strip().lower() for text in raw)
        elif "regex" in data:
            try:
                route.regex = re.compile(data["regex"], re.IGNORECASE)
            except re.error as error:
                self.problem((*route.path, "regex"), f"invalid regex: {error}")

    def actions(self, block: Block, data: dict[str, Any], *, in_route: bool) -> None:
        path = block.path
        for name, value in data.get("store", {}).items():
            block.store[name] = self.text((*path, "store", name), value)
        if "call" in data:
            block.call_name = data["call"]
            block.call = self.function((*path, "call"), data["call"], in_route)
        say = data.get("say", [])
        for index, value in enumerate(say if isinstance(say, list) else [say]):
            where = (*path, "say", index) if isinstance(say, list) else (*path, "say")
            block.say.append(self.text(where, value))
        for key in ("quick_replies", "buttons"):
            for index, value in enumerate(data.get(key, [])):
                getattr(block, key).append(self.text((*path, key, index), value))
        if "go" in data:
            block.go = data["go"]
            self.target((*path, "go"), data["go"])

    def text(self, path: tuple[Any, ...], value: Any) -> Any:
        if not isinstance(value, str):
            return value
        problem = check_template(value)
        if problem:
            self.problem(path, problem)
        return Text(value)

    def function(self, path: tuple[Any, ...], source: str, in_route: bool) -> Any:
        where = self.document.where(path)
        try:
            _, function = import_object(source, f"{where}: {describe(path)}: call")
        except ConfigError as error:
            self.problem(path, str(error).split(": call: ", 1)[-1])
            return None
        arguments = "(user, user_input)" if in_route else "(user)"
        if not callable(function):
            self.problem(path, f"call {source!r} is not a function; define def f{arguments}")
            return None
        try:
            inspect.signature(function).bind(*([None] * (2 if in_route else 1)))
        except TypeError:
            self.problem(path, f"call {source!r} must accept {arguments} here")
        except ValueError:  # no signature (a builtin): trust it
            pass
        return function
