# The part of grandalf 0.8 the studio's layout uses (grandalf ships no type information).
# ``view`` is whatever the caller attaches: grandalf reads ``w``/``h`` and writes ``xy`` on a
# vertex's view, and calls ``setpath(points)`` on an edge's view.
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

_T = TypeVar("_T")

class Poset(Generic[_T]):
    def __iter__(self) -> Iterator[_T]: ...
    def __len__(self) -> int: ...
    def __getitem__(self, i: int) -> _T: ...

class Vertex:
    data: Any
    view: Any
    def __init__(self, data: Any = None) -> None: ...

class Edge:
    v: tuple[Vertex, Vertex]
    w: float
    data: Any
    view: Any
    def __init__(
        self, x: Vertex, y: Vertex, w: float = 1, data: Any = None, connect: bool = False
    ) -> None: ...

class graph_core:
    sV: Poset[Vertex]
    sE: Poset[Edge]

class Graph:
    C: list[graph_core]
    def __init__(
        self,
        V: Iterable[Vertex] | None = None,
        E: Iterable[Edge] | None = None,
        directed: bool = True,
    ) -> None: ...
