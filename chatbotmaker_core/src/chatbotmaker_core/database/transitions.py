"""State changes recorded in the turn's transaction, at the end of the turn beside the state
UPDATE, only when the state changed (the source of ``stats``): a prebuilt INSERT of the
store (``Store.record_transitions``), one row per change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from ..metrics import observe_entries


def changes(turn: Any) -> list[tuple[str | None, str]]:
    """``(from, to)`` pairs of a turn, in order: a new user entering the initial state
    (``from`` None), a removed state left for it, then each ``change_state``."""
    found: list[tuple[str | None, str]] = []
    if turn.is_new_user:
        found.append((None, turn.initial_state))
    elif turn.removed_state is not None:
        found.append((turn.removed_state, turn.initial_state))
    found.extend(turn.transitions)
    return found


def record(conn: Connection, turn: Any) -> None:
    """Insert the turn's state changes with one statement (nothing when there are none)."""
    pairs = changes(turn)
    if not pairs:
        return
    turn.store.record_transitions(conn, turn.message.user_id, pairs)
    observe_entries(b for _, b in pairs)
