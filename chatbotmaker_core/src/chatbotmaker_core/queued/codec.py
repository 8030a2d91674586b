"""Messages and replies as JSON job arguments."""

from __future__ import annotations

import json
from typing import Any

from ..message import Button, Message, QuickReply, Reply


def message_to_job(message: Message) -> dict[str, Any]:
    job = {
        "user_id": message.user_id,
        "text": message.text,
        "message_id": message.message_id,
        "kind": message.kind,
        "payload": message.payload,
        "attachments": list(message.attachments),
        "timestamp": message.timestamp,
    }
    try:  # keep the platform's raw event when it is plain JSON
        json.dumps(message.raw)
        job["raw"] = message.raw
    except (TypeError, ValueError):
        job["raw"] = None
    return job


def message_from_job(job: dict[str, Any]) -> Message:
    return Message(**{**job, "attachments": tuple(job.get("attachments") or ())})


def replies_to_job(replies: list[Reply]) -> list[dict[str, Any]]:
    return [
        {
            "text": reply.text,
            "quick_replies": [[q.title, q.payload] for q in reply.quick_replies],
            "buttons": [[b.title, b.payload, b.url] for b in reply.buttons],
        }
        for reply in replies
    ]


def replies_from_job(replies: list[dict[str, Any]]) -> list[Reply]:
    return [
        Reply(
            text=reply["text"],
            quick_replies=tuple(QuickReply(*q) for q in reply.get("quick_replies", ())),
            buttons=tuple(Button(*b) for b in reply.get("buttons", ())),
        )
        for reply in replies
    ]
