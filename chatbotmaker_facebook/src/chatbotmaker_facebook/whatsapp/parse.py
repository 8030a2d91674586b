"""From a WhatsApp Cloud API webhook body to core :class:`~chatbotmaker_core.Message` objects.

The body is ``{"object": "whatsapp_business_account", "entry": [{"changes": [{"field":
"messages", "value": {...}}]}]}``; ``value`` holds ``messages[]`` and/or ``statuses[]``. Every
entry and change is read; the frame is checked whole first (a wrong shape is a 400 with
nothing handled), then each message stands alone as on Messenger (``..parse``). Statuses
(sent, delivered, read, failed) are never answered. Messages to another phone number of the
same business account are not ours to answer.

What a handler's ``user_input`` (``Message.text``) is, by message ``type``:

======================================  ===============  ==================================
type                                    ``kind``         ``text``
======================================  ===============  ==================================
``text``                                ``text``         ``text.body``
``interactive`` button/list reply       ``quick_reply``  the reply's ``id`` (our payload)
``button`` (template quick reply)       ``quick_reply``  ``button.payload``
media with a caption                    ``text``         the caption; ``attachments``
media, ``location``, ``contacts``       ``attachment``   ``""``; ``attachments``
======================================  ===============  ==================================

Attachments have Messenger's shape: ``{"type": "image", "payload": <WhatsApp's image object,
with its media id>}``; a location's payload is ``{latitude, longitude, name, address}``.
``message_id`` is the ``wamid`` (redeliveries repeat it: core skips them); ``timestamp`` is in
epoch milliseconds like Messenger's (WhatsApp sends seconds, as a string).
"""

from __future__ import annotations

import logging
from typing import Any

from chatbotmaker_core import Message
from chatbotmaker_core.storable import UnstorableEvent, storable_message

from ..parse import PayloadError, _id, _text, webhook_entries

log = logging.getLogger(__name__)

WEBHOOK_OBJECT = "whatsapp_business_account"
MEDIA_TYPES = ("image", "audio", "document", "video", "sticker")


def parse_whatsapp(payload: Any, phone_number_id: str | None = None) -> list[Message]:
    """Every message of every change, in order; ``[]`` when there is nothing to answer."""
    entries = webhook_entries(payload, WEBHOOK_OBJECT)
    if entries is None:
        return []
    values = list(_values(entries))  # the frame, checked whole before any message
    found: list[Message] = []
    for where, value in values:
        metadata = value.get("metadata")
        number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
        if phone_number_id and number is not None and str(number) != phone_number_id:
            log.info("ignoring %s: it is for phone number %s, not ours", where, str(number)[:30])
            continue
        statuses = value.get("statuses") or []
        if statuses:
            log.debug("ignoring %d status update(s) at %s", len(statuses), where)
        for k, item in enumerate(value.get("messages") or []):
            message = _parse_alone(item, f"{where}.messages[{k}]")
            if message is not None:
                found.append(message)
    return found


def _values(entries: list[Any]) -> Any:
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise PayloadError(f"entry[{i}] must be an object")
        changes = entry.get("changes", [])
        if not isinstance(changes, list):
            raise PayloadError(f"entry[{i}].changes must be a list")
        for j, change in enumerate(changes):
            where = f"entry[{i}].changes[{j}]"
            if not isinstance(change, dict):
                raise PayloadError(f"{where} must be an object")
            if change.get("field") != "messages":
                log.debug("ignoring a %r change at %s", change.get("field"), where)
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                raise PayloadError(f"{where}.value must be an object")
            for key in ("messages", "statuses"):
                if not isinstance(value.get(key) or [], list):
                    raise PayloadError(f"{where}.value.{key} must be a list")
            yield f"{where}.value", value


def _parse_alone(item: Any, where: str) -> Message | None:
    """One message, storable; None (logged) when it can never be handled."""
    try:
        message = parse_message(item, where)
        return None if message is None else storable_message(message)
    except PayloadError as error:
        log.warning("webhook message skipped: %s", error)
    except UnstorableEvent as error:
        wamid = item.get("id") if isinstance(item, dict) else None
        sender = item.get("from") if isinstance(item, dict) else None
        log.warning("webhook %s skipped (message %s of %s): %s", where, wamid, sender, error)
    return None


def parse_message(item: Any, where: str = "message") -> Message | None:
    """The core message of one ``messages[]`` item, or None when it is not to be answered."""
    if not isinstance(item, dict):
        raise PayloadError(f"{where} must be an object")
    user_id = _id(item.get("from"), f"{where}.from")
    wamid = _id(item.get("id"), f"{where}.id")
    if user_id is None or wamid is None:
        raise PayloadError(f"{where} has no 'from' or no 'id'")
    kind = item.get("type")
    common: dict[str, Any] = {"message_id": wamid, "timestamp": _millis(item), "raw": item}
    if kind == "text":
        body = _text(_object(item, "text", where).get("body"), f"{where}.text.body")
        return Message(user_id, body or "", kind="text", **common)
    if kind in ("interactive", "button"):
        payload = _choice(item, kind, where)
        if payload is None:
            return None
        return Message(user_id, payload, kind="quick_reply", payload=payload, **common)
    if kind in MEDIA_TYPES or kind in ("location", "contacts"):
        content = item.get(kind)
        if kind == "contacts":
            content = {"contacts": content}
        if not isinstance(content, dict):
            raise PayloadError(f"{where}.{kind} must be an object")
        caption = _text(content.get("caption"), f"{where}.{kind}.caption")
        attachments = ({"type": kind, "payload": content},)
        if caption:
            return Message(user_id, caption, kind="text", attachments=attachments, **common)
        return Message(user_id, "", kind="attachment", attachments=attachments, **common)
    log.debug("ignoring a WhatsApp message of type %r at %s", str(kind)[:40], where)
    return None


def _choice(item: dict[str, Any], kind: str, where: str) -> str | None:
    """The id of a tapped reply button or list row, or a template button's payload."""
    body = _object(item, kind, where)
    if kind == "button":
        return _text(body.get("payload"), f"{where}.button.payload")
    reply_type = body.get("type")
    if reply_type not in ("button_reply", "list_reply"):
        log.debug("ignoring an interactive %r at %s", str(reply_type)[:40], where)
        return None
    reply = body.get(reply_type)
    if not isinstance(reply, dict):
        raise PayloadError(f"{where}.interactive.{reply_type} must be an object")
    return _text(reply.get("id"), f"{where}.interactive.{reply_type}.id")


def _object(item: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = item.get(key)
    if not isinstance(value, dict):
        raise PayloadError(f"{where}.{key} must be an object")
    return value


def _millis(item: dict[str, Any]) -> int | None:
    """WhatsApp's timestamp (seconds, a string) in epoch milliseconds, like Messenger's."""
    value = item.get("timestamp")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value * 1000
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 16:
        return int(value) * 1000
    return None
