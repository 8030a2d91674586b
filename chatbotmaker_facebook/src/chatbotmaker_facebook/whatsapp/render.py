"""Building Cloud API request bodies from a core :class:`~chatbotmaker_core.Reply`.

Pure functions, no I/O, so WhatsApp's limits are applied (and tested) in one place. Text is
at most 4096 characters per message (a longer one is split at word boundaries). A reply's
choices (quick replies and postback buttons alike: on WhatsApp both are "tap to answer") become

- reply buttons when there are at most 3 and every title fits in 20 characters;
- else a list when there are at most 10 (row titles cut to 24 characters, the whole title
  then in the row's description);
- else numbered text (``1. Red``): the user answers by typing, and the handler gets what was
  typed.

A tapped button or row sends back its ``id``, which is the choice's payload (default: its
title), so the handler gets the same ``user_input`` as on Messenger. Link buttons (``url``)
have no interactive equivalent here: they become ``title: url`` lines of the text.
"""

from __future__ import annotations

import logging
from typing import Any

from chatbotmaker_core import Reply

from ..payloads import split_text

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
#: the body text of an interactive message
BODY_LIMIT = 1024
MAX_BUTTONS = 3
BUTTON_TITLE_LIMIT = 20
BUTTON_ID_LIMIT = 256
MAX_ROWS = 10
ROW_TITLE_LIMIT = 24
ROW_ID_LIMIT = 200
ROW_DESCRIPTION_LIMIT = 72
LIST_BUTTON_LIMIT = 20
#: the body of an interactive message whose reply has no text (WhatsApp requires one)
EMPTY_BODY = "…"

Body = dict[str, Any]


def choices(reply: Reply) -> list[tuple[str, str]]:
    """``(title, id)`` of every quick reply and postback button, in order."""
    found = [
        (q.title, q.payload if q.payload is not None else q.title) for q in reply.quick_replies
    ]
    found += [
        (b.title, b.payload if b.payload is not None else b.title)
        for b in reply.buttons
        if not b.url
    ]
    return found


def reply_text(reply: Reply) -> str:
    """The reply's text with its link buttons as ``title: url`` lines."""
    links = [f"{b.title}: {b.url}" for b in reply.buttons if b.url]
    return "\n".join([reply.text, *links]) if links else reply.text


def fits_buttons(options: list[tuple[str, str]]) -> bool:
    return (
        len(options) <= MAX_BUTTONS
        and all(len(title) <= BUTTON_TITLE_LIMIT and title.strip() for title, _ in options)
        and all(0 < len(key) <= BUTTON_ID_LIMIT for _, key in options)
        and len({key for _, key in options}) == len(options)
        and len({title for title, _ in options}) == len(options)
    )


def fits_list(options: list[tuple[str, str]]) -> bool:
    return (
        len(options) <= MAX_ROWS
        and all(title.strip() for title, _ in options)
        and all(0 < len(key) <= ROW_ID_LIMIT for _, key in options)
        and len({key for _, key in options}) == len(options)
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _base(to: str, kind: str) -> Body:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind}


def text_body(to: str, text: str) -> Body:
    return {**_base(to, "text"), "text": {"body": text}}


def buttons_body(to: str, text: str, options: list[tuple[str, str]]) -> Body:
    buttons = [{"type": "reply", "reply": {"id": key, "title": title}} for title, key in options]
    interactive = {
        "type": "button",
        "body": {"text": text or EMPTY_BODY},
        "action": {"buttons": buttons},
    }
    return {**_base(to, "interactive"), "interactive": interactive}


def list_body(to: str, text: str, options: list[tuple[str, str]], button: str) -> Body:
    rows = []
    for title, key in options:
        row = {"id": key, "title": _cut(title, ROW_TITLE_LIMIT)}
        if len(title) > ROW_TITLE_LIMIT:
            row["description"] = _cut(title, ROW_DESCRIPTION_LIMIT)
        rows.append(row)
    action = {"button": _cut(button, LIST_BUTTON_LIMIT), "sections": [{"rows": rows}]}
    interactive = {"type": "list", "body": {"text": text or EMPTY_BODY}, "action": action}
    return {**_base(to, "interactive"), "interactive": interactive}


def numbered(text: str, options: list[tuple[str, str]]) -> str:
    """The choices as a numbered list under the text."""
    lines = [f"{number}. {title}" for number, (title, _) in enumerate(options, 1)]
    return "\n".join([text, *lines]) if text else "\n".join(lines)


def render_reply(to: str, reply: Reply, list_button: str = "Choose") -> list[Body]:
    """The Cloud API bodies of one reply, in sending order."""
    text = reply_text(reply)
    options = choices(reply)
    interactive = bool(options) and (fits_buttons(options) or fits_list(options))
    if not interactive:
        if options:
            log.info(
                "%d choices do not fit WhatsApp's buttons or list: numbered text", len(options)
            )
            text = numbered(text, options)
        return [text_body(to, chunk) for chunk in split_text(text, TEXT_LIMIT)]
    chunks = split_text(text, TEXT_LIMIT)
    chunks.extend(split_text(chunks.pop(), BODY_LIMIT))
    body = chunks.pop()
    bodies = [text_body(to, chunk) for chunk in chunks]
    if fits_buttons(options):
        bodies.append(buttons_body(to, body, options))
    else:
        bodies.append(list_body(to, body, options, list_button))
    return bodies


def read_receipt(wamid: str) -> Body:
    """Marks an inbound message (and those before it) as read: the blue ticks."""
    return {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
