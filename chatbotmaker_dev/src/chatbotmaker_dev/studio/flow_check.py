"""Validating an edited flow before it is written, each error placed next to its field.

The flow loader reports ``file:line:column: state 'menu', route 2: what is wrong``. The text
we are about to write is read again with positions (``read_yaml``); the line and column of
each problem lead back to the path it is about, and that path to the form field
(``routes.1.go``, ``prompt.say.0``) the page shows it beside.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from chatbotmaker_core.errors import ConfigError
from chatbotmaker_core.flow import parse_flow
from chatbotmaker_core.flow.yamlnodes import read_yaml

_WHERE = re.compile(r"^(\d+):(\d+): (.*)$", re.S)


def problems_of(text: str, name: str, folder: Path) -> list[dict[str, Any]]:
    """``[{"state", "field", "message"}]`` for the flow ``text``; empty when it loads."""
    try:
        parse_flow(text, name, folder=folder)
    except ConfigError as error:
        lines = list(getattr(error, "problems", None) or [str(error)])
    else:
        return []
    try:
        document = read_yaml(text, name)
    except ConfigError:
        document = None
    return [_placed(line, name, document) for line in lines]


def _placed(line: str, name: str, document: Any) -> dict[str, Any]:
    rest = line[len(name) + 1 :] if line.startswith(name + ":") else ""
    found = _WHERE.match(rest)
    if not found or document is None:
        return {"state": None, "field": None, "message": line}
    position = (int(found.group(1)), int(found.group(2)))
    path = _path_at(document, position)
    state, field = None, None
    if path and len(path) >= 2 and path[0] == "states":
        state = path[1]
        rest_path = list(path[2:])
        if rest_path and rest_path[-1] in ("say", "quick_replies", "buttons", "match"):
            rest_path.append(0)  # a single text is the form's first field
        field = ".".join(str(p) for p in rest_path) or None
    return {"state": state, "field": field, "message": line}


def _path_at(document: Any, position: tuple[int, int]) -> tuple[Any, ...] | None:
    """The deepest path whose value (or key) starts at ``position``."""
    best = None
    for table in (document.values, document.keys):
        for path, where in table.items():
            if (where.line, where.column) == position and (best is None or len(path) > len(best)):
                best = path
    return best


def write_atomically(path: Path, text: str) -> None:
    """Replace the file in one step: a reader (the bot reloading) never sees half of it."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        try:
            os.chmod(temporary, path.stat().st_mode & 0o777)
        except OSError:
            pass
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
