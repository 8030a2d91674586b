"""From a decoded webhook body to core :class:`~chatbotmaker_core.Message` objects.

The body's frame (``object``, ``entry[]``, each entry's ``messaging[]``) is checked whole
before any event is handled: a body of the wrong shape is refused (400) with nothing processed.
Each event then stands alone: one Meta could never deliver successfully (a field of the wrong
type, an id that is not printable) is skipped and logged, and the others are still answered.
Strings are made storable (``chatbotmaker_core.storable``: NUL and lone surrogates become
U+FFFD), so inline and queued modes hand handlers the same text. Events the bot must not answer
(echoes of the page's own messages, deliveries, reads, standby, anything unknown, and an event
whose user or message id is longer than the 255 characters the database stores, logged) are
dropped here, so the webhook only ever hands the bot something a user said.

What a handler's ``user_input`` (``Message.text``) is, by event:

==========================  ===============  ===========================================
event                       ``kind``         ``text`` (``user_input``)
==========================  ===============  ===========================================
text message                ``text``         the text
quick-reply tap             ``quick_reply``  the quick reply's payload (also ``payload``)
postback (button)           ``postback``     the postback's payload (also ``payload``)
attachments with text       ``text``         the text; ``attachments`` holds the rest
attachments only            ``attachment``   ``""``; ``attachments`` holds them
==========================  ===============  ===========================================

``attachments`` is a tuple of Meta's attachment objects as received, e.g.
``{"type": "image", "payload": {"url": ...}}``; ``raw`` is the whole event.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from chatbotmaker_core import Message
from chatbotmaker_core.storable import UnstorableEvent, storable_message

log = logging.getLogger(__name__)

#: ids become database keys (255 characters): printable, not empty
_ID = re.compile(r"[^\x00-\x1f\x7f]{1,255}")
_PRINTABLE = re.compile(r"[^\x00-\x1f\x7f]+")


class PayloadError(ValueError):
    """The webhook body does not have the Messenger Platform's shape; the webhook answers 400."""


def parse_payload(payload: object, expected: str = "page") -> list[Message]:
    """Every message of every entry, in order; ``[]`` when there is nothing to answer.

    ``expected`` is the webhook ``object`` the messenger serves: ``page`` (Messenger) or
    ``instagram``, which share the ``entry[].messaging[]`` shape.
    """
    entries = webhook_entries(payload, expected)
    if entries is None:
        return []
    messages: list[Message] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise PayloadError(f"entry[{i}] must be an object")
        for key in ("messaging", "standby"):
            if not isinstance(entry.get(key, []), list):
                raise PayloadError(f"entry[{i}].{key} must be a list")
        if entry.get("standby"):
            log.debug(
                "ignoring %d standby event(s): another app owns the thread", len(entry["standby"])
            )
        for j, event in enumerate(entry.get("messaging", [])):
            message = _parse_alone(event, f"entry[{i}].messaging[{j}]")
            if message is not None:
                messages.append(message)
    return messages


def webhook_entries(payload: Any, expected: str) -> list[Any] | None:
    """The body's ``entry`` list; None (logged) for another product's webhook."""
    if not isinstance(payload, dict):
        raise PayloadError("the body must be a JSON object")
    kind = payload.get("object")
    if not isinstance(kind, str):
        raise PayloadError("the body has no 'object' string")
    if kind != expected:
        # Another product (instagram, whatsapp...) posts other shapes: not ours to answer.
        log.info("ignoring a webhook for object %r (this messenger serves %r)", kind[:40], expected)
        return None
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise PayloadError("'entry' must be a list")
    return entries


def _parse_alone(event: Any, where: str) -> Message | None:
    """The storable message of one event; None, logged, when it has none (it never will: Meta
    would deliver the same event again and again, so it must not cost the rest of the batch)."""
    try:
        message = parse_event(event, where)
        return None if message is None else storable_message(message)
    except PayloadError as error:
        log.warning("webhook event skipped: %s", error)
    except UnstorableEvent as error:
        log.warning(
            "webhook event %s skipped (message %s of user %s): %s",
            where,
            _get(event, "message", "mid") or _get(event, "postback", "mid"),
            _get(event, "sender", "id"),
            error,
        )
    return None


def _get(event: Any, key: str, field: str) -> Any:
    value = event.get(key) if isinstance(event, dict) else None
    return value.get(field) if isinstance(value, dict) else None


def parse_event(event: Any, where: str = "event") -> Message | None:
    """The message one ``messaging`` event holds, or None when it is not to be answered."""
    if not isinstance(event, dict):
        raise PayloadError(f"{where} must be an object")
    if "message" in event:
        return _message(event, where)
    if "postback" in event:
        return _postback(event, where)
    other = next((key for key in event if key not in ("sender", "recipient", "timestamp")), None)
    log.debug("ignoring %s event at %s", other or "empty", where)
    return None


def _message(event: dict[str, Any], where: str) -> Message | None:
    body = _object(event, "message", where)
    if body.get("is_echo"):
        return None  # the page's own message: answering it would loop forever
    user_id = _sender(event, where)
    mid = _id(body.get("mid"), f"{where}.message.mid")
    text = _text(body.get("text"), f"{where}.message.text")
    attachments = _attachments(body.get("attachments"), f"{where}.message.attachments")
    quick_reply = body.get("quick_reply")
    common: dict[str, Any] = {"message_id": mid, "timestamp": _timestamp(event), "raw": event}
    if quick_reply is not None:
        if not isinstance(quick_reply, dict):
            raise PayloadError(f"{where}.message.quick_reply must be an object")
        payload = _text(quick_reply.get("payload"), f"{where}.message.quick_reply.payload")
        if payload is not None:
            return Message(
                user_id,
                payload,
                kind="quick_reply",
                payload=payload,
                attachments=attachments,
                **common,
            )
    if text is not None:
        return Message(user_id, text, kind="text", attachments=attachments, **common)
    if attachments:
        return Message(user_id, "", kind="attachment", attachments=attachments, **common)
    log.debug("ignoring a message without text or attachments at %s", where)
    return None


def _postback(event: dict[str, Any], where: str) -> Message:
    body = _object(event, "postback", where)
    user_id = _sender(event, where)
    payload = _text(body.get("payload"), f"{where}.postback.payload")
    title = _text(body.get("title"), f"{where}.postback.title")
    text = payload if payload is not None else (title or "")
    return Message(
        user_id,
        text,
        message_id=_id(body.get("mid"), f"{where}.postback.mid"),
        kind="postback",
        payload=payload,
        timestamp=_timestamp(event),
        raw=event,
    )


def _object(event: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = event[key]
    if not isinstance(value, dict):
        raise PayloadError(f"{where}.{key} must be an object")
    return value


def _sender(event: dict[str, Any], where: str) -> str:
    sender = event.get("sender")
    if not isinstance(sender, dict):
        raise PayloadError(f"{where}.sender must be an object")
    user_id = _id(sender.get("id"), f"{where}.sender.id")
    if user_id is None:
        raise PayloadError(f"{where}.sender.id is missing")
    return user_id


def _id(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and len(value) > 255 and _PRINTABLE.fullmatch(value):
        raise PayloadError(f"{where} has {len(value)} characters; at most 255 can be stored")
    if not isinstance(value, str) or not _ID.fullmatch(value) or not _encodable(value):
        raise PayloadError(f"{where} must be a printable string of 1-255 characters")
    return value


def _text(value: Any, where: str) -> str | None:
    """A string as sent; lone surrogates and NUL are replaced later (``_parse_alone``)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where} must be a string")
    return value


def _attachments(value: Any, where: str) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
        raise PayloadError(f"{where} must be a list of objects")
    return tuple(value)


def _timestamp(event: dict[str, Any]) -> int | None:
    """Epoch milliseconds; some newer payloads send them as strings."""
    value = event.get("timestamp")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        return int(value)
    return None


def _encodable(text: str) -> bool:
    """False for lone surrogates (valid JSON escapes that no database or UTF-8 accepts)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
