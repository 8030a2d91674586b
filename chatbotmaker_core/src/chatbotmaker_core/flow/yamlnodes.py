"""Reading a flow file into plain data plus the line and column of every key and value.

ruamel.yaml composes the YAML into nodes that carry their position; we turn the nodes into
dicts, lists and scalars ourselves, keeping a map from each path (``("states", "menu",
"routes", 1, "go")``) to where it was written, so every later error can point at the file.
The C composer (``ruamel.yaml.clibz``) is used when it is installed: it reads a 500-state flow
about twenty times faster than the pure-Python one, which stays the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from ..errors import ConfigError

try:  # the C composer: optional (ruamel.yaml[libyaml])
    from ruamel.yaml.cyaml import CSafeLoader as _CLoader
except ImportError:  # pragma: no cover - depends on the platform's wheels
    _CLoader = None  # type: ignore[misc, assignment]

Path_ = tuple[Any, ...]
STR = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class Position:
    """A place in a file, 1-based as editors show it."""

    line: int
    column: int


@dataclass
class Document:
    """A YAML document as plain data, with the position of each value and mapping key."""

    file: str
    data: Any
    values: dict[Path_, Position] = field(default_factory=dict)
    keys: dict[Path_, Position] = field(default_factory=dict)

    def where(self, path: Path_, *, key: bool = False) -> str:
        """``file:line:column`` of the value at ``path`` (or of its key), else of its parent."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe not in table and probe:
            probe = probe[:-1]
            table = self.values
        position = table.get(probe)
        if position is None:
            return self.file
        return f"{self.file}:{position.line}:{position.column}"


def read_yaml(text: str, file: str) -> Document:
    """Parse ``text`` (the content of ``file``); a syntax error is a ConfigError naming where."""
    try:
        if _CLoader is not None:
            loader = _CLoader(text)
            try:
                node = loader.get_single_node()
            finally:
                loader.dispose()
            construct = loader.construct_object
        else:  # pragma: no cover
            yaml = YAML(typ="safe", pure=True)
            node = yaml.compose(text)
            construct = yaml.constructor.construct_object
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        raise ConfigError(f"{where}: not valid YAML: {error.problem or error}") from None
    document = Document(file=file, data=None)
    if node is None:
        raise ConfigError(f"{file}: the file is empty; a flow starts with 'flow: 1'")
    document.data = _convert(node, (), document, construct)
    return document


def _position(node: Any) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _convert(node: Any, path: Path_, document: Document, construct: Any) -> Any:
    document.values[path] = _position(node)
    if isinstance(node, MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, path, document, construct)
            if isinstance(key, (dict, list)):
                raise ConfigError(f"{document.where(path)}: a mapping key must be a plain value")
            if key in result:
                raise ConfigError(
                    f"{file_position(document, key_node)}: duplicate key {key!r}; "
                    f"each key may appear once in a mapping"
                )
            here = (*path, key)
            document.keys[here] = _position(key_node)
            result[key] = _convert(value_node, here, document, construct)
        document.values[path] = _position(node)
        return result
    if isinstance(node, SequenceNode):
        return [
            _convert(item, (*path, index), document, construct)
            for index, item in enumerate(node.value)
        ]
    if isinstance(node, ScalarNode) and node.tag == STR:
        return node.value
    return construct(node, deep=True)


def file_position(document: Document, node: Any) -> str:
    position = _position(node)
    return f"{document.file}:{position.line}:{position.column}"
