"""Messages and replies as JSON job arguments.

A job's arguments are ``jsonb``: a message is made storable first (``storable.py``: NUL and
lone surrogates become U+FFFD, NaN and infinities ``None``), and one that cannot be raises
:class:`~chatbotmaker_core.storable.UnstorableEvent` before anything is deferred.
"""

from __future__ import annotations

from typing import Any

from ..message import Button, Message, QuickReply, Reply
from ..storable import storable, storable_message


def message_to_job(message: Message) -> dict[str, Any]:
    """The turn job's argument for ``message``, storable in ``jsonb`` (or UnstorableEvent)."""
    message = storable_message(message)
    return {
        "user_id": message.user_id,
        "text": message.text,
        "message_id": message.message_id,
        "kind": message.kind,
        "payload": message.payload,
        "attachments": list(message.attachments),
        "timestamp": message.timestamp,
        "raw": message.raw,  # None when it was not storable JSON
        # jobs deferred before channels existed have no "channel": the bot's default
        "channel": message.channel,
    }


def message_from_job(job: dict[str, Any]) -> Message:
    return Message(**{**job, "attachments": tuple(job.get("attachments") or ())})


def replies_to_job(replies: list[Reply]) -> list[dict[str, Any]]:
    """The delivery job's argument; a handler's NUL or lone surrogate becomes U+FFFD here too,
    or the job (and with it the turn that defers it) could never commit."""
    return storable(
        [
            {
                "text": reply.text,
                "quick_replies": [[q.title, q.payload] for q in reply.quick_replies],
                "buttons": [[b.title, b.payload, b.url] for b in reply.buttons],
                "tag": reply.tag,
            }
            for reply in replies
        ]
    )


def replies_from_job(replies: list[dict[str, Any]]) -> list[Reply]:
    return [
        Reply(
            text=reply["text"],
            quick_replies=tuple(QuickReply(*q) for q in reply.get("quick_replies", ())),
            buttons=tuple(Button(*b) for b in reply.get("buttons", ())),
            tag=reply.get("tag"),
        )
        for reply in replies
    ]
