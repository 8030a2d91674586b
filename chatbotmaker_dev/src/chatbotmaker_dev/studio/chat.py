"""Talking to the bot as a user: one turn per message, the replies as data, the user's state.

Each user's conversation since its last reset is kept in memory: it is what "save as
transcript" writes (DESIGN §12).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from chatbotmaker_core.database import operators
from chatbotmaker_core.message import Message, Reply

from .project import Project

_ids = itertools.count(1)


@dataclass
class Step:
    say: str
    replies: list[dict[str, Any]]
    state: str | None


@dataclass
class Conversations:
    """The steps each user took since its last reset."""

    steps: dict[str, list[Step]] = field(default_factory=dict)

    def of(self, user_id: str) -> list[Step]:
        return self.steps.setdefault(user_id, [])


def reply_dict(reply: Reply) -> dict[str, Any]:
    return {
        "text": reply.text,
        "quick_replies": [
            {"title": q.title, "payload": q.payload or q.title} for q in reply.quick_replies
        ],
        "buttons": [
            {"title": b.title, "payload": b.payload or (None if b.url else b.title), "url": b.url}
            for b in reply.buttons
        ],
    }


def say(
    project: Project, conversations: Conversations, user_id: str, text: str, kind: str = "text"
) -> dict[str, Any]:
    """One message from ``user_id``; ``kind`` is ``text``, ``quick_reply`` or ``postback``
    (then ``text`` is the option's payload)."""
    with project.lock:
        loaded = project.current()
        if loaded.bot is None:
            return {"errors": loaded.errors, "replies": [], **user_view(project, user_id)}
        payload = text if kind != "text" else None
        message = Message(
            user_id=user_id,
            text=text,
            message_id=f"studio-{next(_ids)}",
            kind=kind,
            payload=payload,
        )
        result = loaded.bot.handle(message)
        replies = [reply_dict(reply) for reply in result.replies]
        view = user_view(project, user_id)
        conversations.of(user_id).append(Step(text, replies, view["state"]))
        error = None
        if result.error is not None:
            error = f"a handler failed: {type(result.error).__name__}: {result.error}"
        return {"errors": [], "replies": replies, "error": error, **view}


def user_view(project: Project, user_id: str) -> dict[str, Any]:
    """The user's state and arguments (``None`` and ``{}`` before its first message)."""
    loaded = project.current()
    if loaded.bot is None:
        return {"user": user_id, "state": None, "arguments": {}}
    database = loaded.bot.database
    channel = loaded.bot.default_channel  # the studio talks as the config's first messenger
    user = database.get_user(user_id, channel)
    arguments = database.get_arguments(user_id, channel)
    return {
        "user": user_id,
        "state": None if user is None else user.state,
        "arguments": json.loads(json.dumps(arguments, default=str)),
    }


def reset_user(project: Project, conversations: Conversations, user_id: str) -> None:
    """Forget the user: its row, its arguments and its conversation; its next message starts
    at the start state as a new user would."""
    conversations.steps.pop(user_id, None)
    with project.lock:
        loaded = project.current()
        if loaded.bot is None:
            return
        # The operators' erasure: arguments, handled ids, recorded state changes, delivery
        # failures and the application's rows that point at the user go with it.
        try:
            operators.delete_user(loaded.bot.database, user_id, loaded.bot.default_channel)
        except operators.UnknownUserError:
            pass  # never said anything: nothing to forget
