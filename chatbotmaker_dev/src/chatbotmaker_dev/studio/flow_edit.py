"""Editing a flow file as forms: the YAML read and written back with ruamel.yaml round-trip.

The form of a state is plain JSON (lists of texts, ``{name, value}`` pairs, ``go``); saving it
changes only what differs in the round-trip document, in place, so comments, key order and
flow-style lists (``[order, help]``) of everything else stay as they were written.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from chatbotmaker_core.errors import ConfigError

BLOCKS = ("enter", "prompt", "leave")
LISTS = ("say", "quick_replies", "buttons")


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long message
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def read_document(path: Path) -> CommentedMap:
    """The round-trip document of a flow file; a file the studio cannot edit is a
    ConfigError with the reason."""
    try:
        data = _yaml().load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"flow file {path.name!r} cannot be read: {error}") from None
    except Exception as error:  # noqa: BLE001 - ruamel's parse errors have no common base
        raise ConfigError(f"{path.name}: not valid YAML: {error}") from None
    if not isinstance(data, CommentedMap) or not isinstance(data.get("states"), CommentedMap):
        raise ConfigError(f"{path.name}: a flow is a mapping with 'flow: 1' and 'states:'")
    return data


def dump(data: CommentedMap) -> str:
    stream = io.StringIO()
    _yaml().dump(data, stream)
    return stream.getvalue()


# -- reading a state into a form ----------------------------------------------------------


def _texts(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def block_form(block: Any) -> dict[str, Any] | None:
    if not isinstance(block, dict):
        return None
    return {
        "say": _texts(block.get("say")),
        "quick_replies": _texts(block.get("quick_replies")),
        "buttons": _texts(block.get("buttons")),
        "store": [
            {"name": str(k), "value": _shown(v)} for k, v in (block.get("store") or {}).items()
        ],
        "go": block.get("go") or "",
        "call": block.get("call"),
    }


def route_form(route: Any, index: int) -> dict[str, Any]:
    form = block_form(route) or block_form({})
    assert form is not None
    if "match" in route:
        form.update(kind="match", match=_texts(route["match"]), regex="")
    elif "regex" in route:
        form.update(kind="regex", match=[], regex=str(route["regex"]))
    else:
        form.update(kind="any", match=[], regex="")
    form["index"] = index
    return form


def state_form(data: CommentedMap, name: str) -> dict[str, Any]:
    state = data["states"].get(name)
    if name not in data["states"]:
        raise KeyError(name)
    state = state if isinstance(state, dict) else {}
    return {
        "name": name,
        "start": data.get("start") == name,
        "end": bool(state.get("end", False)),
        **{section: block_form(state.get(section)) for section in BLOCKS},
        "routes": [route_form(r, i) for i, r in enumerate(state.get("routes") or [])],
    }


# -- writing a form back --------------------------------------------------------------------


def _set(mapping: CommentedMap, key: str, value: Any, *, first: bool = False) -> None:
    """Set ``key`` only when it changes (an unchanged value keeps its quotes and style)."""
    if key in mapping and mapping[key] == value:
        return
    if first and key not in mapping:
        mapping.insert(0, key, value)
    else:
        mapping[key] = value


def _drop(mapping: CommentedMap, key: str) -> None:
    if key in mapping:
        del mapping[key]


def _set_texts(mapping: CommentedMap, key: str, texts: list[str], *, first: bool = False) -> None:
    texts = [str(t) for t in texts if str(t).strip()]
    old = mapping.get(key)
    if not texts:
        _drop(mapping, key)
    elif _texts(old) == texts:
        return
    elif len(texts) == 1 and not isinstance(old, list) and key in ("say", "match"):
        _set(mapping, key, texts[0], first=first)
    else:
        sequence = CommentedSeq(texts)
        if key != "say" or isinstance(old, CommentedSeq) and old.fa.flow_style():
            sequence.fa.set_flow_style()
        _set(mapping, key, sequence, first=first)


def _set_store(mapping: CommentedMap, entries: list[dict[str, Any]]) -> None:
    old = mapping.get("store") or {}
    new: dict[str, Any] = {}
    for entry in entries:
        name = str(entry.get("name", "")).strip()
        if not name:
            continue
        text = str(entry.get("value", ""))
        if name in old and _shown(old[name]) == text:
            new[name] = old[name]
        else:
            new[name] = None if text == "" else text
    if not new:
        _drop(mapping, "store")
        return
    if isinstance(old, CommentedMap) and dict(old) == new:
        return
    store = CommentedMap(new)
    if not isinstance(old, CommentedMap) or old.fa.flow_style():
        store.fa.set_flow_style()
    mapping["store"] = store


def _apply_block(mapping: CommentedMap, form: dict[str, Any], *, with_go: bool) -> None:
    _set_store(mapping, form.get("store") or [])
    for key in LISTS:
        _set_texts(mapping, key, form.get(key) or [])
    go = str(form.get("go") or "").strip()
    if with_go and go:
        _set(mapping, "go", go)
    else:
        _drop(mapping, "go")


def _apply_route(route: CommentedMap, form: dict[str, Any]) -> None:
    kind = form.get("kind", "any")
    if kind == "match":
        _drop(route, "regex")
        _set_texts(route, "match", form.get("match") or [], first=True)
    elif kind == "regex":
        _drop(route, "match")
        _set(route, "regex", str(form.get("regex") or ""), first=True)
    else:
        _drop(route, "match")
        _drop(route, "regex")
    _apply_block(route, form, with_go=True)


def apply_state(data: CommentedMap, name: str, form: dict[str, Any]) -> None:
    """Write the form of state ``name`` into the document (the state must exist)."""
    states = data["states"]
    if not isinstance(states.get(name), CommentedMap):
        states[name] = CommentedMap()
    state = states[name]
    for section in BLOCKS:
        block = form.get(section)
        if block is None:
            _drop(state, section)
            continue
        if not isinstance(state.get(section), CommentedMap):
            state[section] = CommentedMap()
        _apply_block(state[section], block, with_go=section == "enter")
    _apply_routes(state, form.get("routes") or [])
    if form.get("end"):
        _set(state, "end", True)
    else:
        _drop(state, "end")


def _apply_routes(state: CommentedMap, forms: list[dict[str, Any]]) -> None:
    old = state.get("routes")
    old = old if isinstance(old, CommentedSeq) else CommentedSeq()
    indexes = [f.get("index") for f in forms]
    kept = [i for i in indexes if isinstance(i, int) and 0 <= i < len(old)]
    in_place = kept == list(range(len(old))) and indexes[: len(old)] == kept
    if in_place:  # edits and additions only: the list (and its comments) stays
        routes = old
    else:
        routes = CommentedSeq()
    for position, form in enumerate(forms):
        index = form.get("index")
        if in_place and position < len(old):
            route = old[position]
        elif isinstance(index, int) and 0 <= index < len(old):
            route = old[index]
        else:
            route = CommentedMap()
        if not isinstance(route, CommentedMap):
            route = CommentedMap()
        _apply_route(route, form)
        if not (in_place and position < len(old)):
            routes.append(route)
    if routes:
        state["routes"] = routes
    else:
        _drop(state, "routes")


# -- states: add, rename, delete ------------------------------------------------------------


def references(data: CommentedMap, name: str) -> list[str]:
    """Every place that leads to ``name``: ``start``, and each ``go`` naming it."""
    found = ["start"] if data.get("start") == name else []
    for source, state in data["states"].items():
        if not isinstance(state, dict):
            continue
        for section in BLOCKS:
            block = state.get(section)
            if isinstance(block, dict) and block.get("go") == name:
                found.append(f"state {source!r}, {section}")
        for index, route in enumerate(state.get("routes") or [], 1):
            if isinstance(route, dict) and route.get("go") == name:
                found.append(f"state {source!r}, route {index}")
    return found


def add_state(data: CommentedMap, name: str) -> None:
    _check_new_name(data, name)
    data["states"][name] = CommentedMap()


def rename_state(data: CommentedMap, old: str, new: str) -> int:
    """Rename ``old`` to ``new`` where it was written; returns how many references changed."""
    states = data["states"]
    if old not in states:
        raise ConfigError(f"no state {old!r} to rename")
    _check_new_name(data, new)
    position = list(states).index(old)
    comment = states.ca.items.pop(old, None)
    value = states.pop(old)
    states.insert(position, new, value)
    if comment is not None:
        states.ca.items[new] = comment
    changed = 0
    if data.get("start") == old:
        data["start"] = new
        changed += 1
    for state in states.values():
        if not isinstance(state, dict):
            continue
        blocks = [state.get(s) for s in BLOCKS] + list(state.get("routes") or [])
        for block in blocks:
            if isinstance(block, dict) and block.get("go") == old:
                block["go"] = new
                changed += 1
    return changed


def delete_state(data: CommentedMap, name: str) -> None:
    """Delete a state nothing leads to; otherwise a ConfigError listing what does."""
    if name not in data["states"]:
        raise ConfigError(f"no state {name!r} to delete")
    found = references(data, name)
    if found:
        raise ConfigError(
            f"state {name!r} is still used by: {'; '.join(found)}; change those first"
        )
    del data["states"][name]


def _check_new_name(data: CommentedMap, name: str) -> None:
    if not name or not name.strip() or name != name.strip():
        raise ConfigError("a state name cannot be empty or start or end with spaces")
    if name in data["states"]:
        raise ConfigError(f"a state named {name!r} already exists; choose another name")
