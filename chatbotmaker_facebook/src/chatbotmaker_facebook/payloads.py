"""Building Send API request bodies from a core :class:`~chatbotmaker_core.Reply`.

Pure functions, no I/O, so the Messenger Platform's limits are applied (and tested) in one
place: text at most 2000 characters per message, a button template's text at most 640 and
1-3 buttons, at most 13 quick replies with titles of at most 20 characters.
"""

from __future__ import annotations

import logging
from typing import Any

from chatbotmaker_core import Button, QuickReply, Reply

log = logging.getLogger(__name__)

TEXT_LIMIT = 2000
BUTTON_TEXT_LIMIT = 640
MAX_BUTTONS = 3
MAX_QUICK_REPLIES = 13
TITLE_LIMIT = 20
#: text of the button templates that carry a 4th, 5th... button (a template needs some text)
MORE_BUTTONS_TEXT = "…"

Body = dict[str, Any]


def text_units(text: str) -> int:
    """Length as Meta's clients count it (UTF-16 code units): an emoji counts twice.

    Counting this way is never more than the code-point count, so a chunk within the limit
    here is within it however Meta counts.
    """
    return len(text.encode("utf-16-le")) // 2


def utf8_units(text: str) -> int:
    """Length in UTF-8 bytes: how Instagram counts its 1000-byte text limit."""
    return len(text.encode("utf-8", "surrogatepass"))


def _char_units(char: str, utf8: bool) -> int:
    if utf8:
        return len(char.encode("utf-8", "surrogatepass"))
    return 2 if ord(char) > 0xFFFF else 1


def _fitting_prefix(text: str, limit: int, utf8: bool = False) -> int:
    """The number of code points of ``text`` whose UTF-16 (or UTF-8) length is at most
    ``limit``."""
    used = 0
    for index, char in enumerate(text):
        used += _char_units(char, utf8)
        if used > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = TEXT_LIMIT, *, utf8: bool = False) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters, at word boundaries, in order.

    Breaks at the last newline in the second half of a chunk, else at the last whitespace;
    a single word longer than the limit is cut. Whitespace at a break is dropped, nothing else.
    ``utf8`` counts the limit in UTF-8 bytes (Instagram) instead of UTF-16 units.
    """
    measure = utf8_units if utf8 else text_units
    chunks: list[str] = []
    rest = text
    while measure(rest) > limit:
        cut = _fitting_prefix(rest, limit, utf8)
        window = rest[: cut + 1]  # the char just past the limit may be the space to break at
        newline = window.rfind("\n")
        space = max(window.rfind(c) for c in (" ", "\t", "\n", "\r", "\u00a0", "\u3000"))
        brk = newline if newline > cut // 2 else space
        head = rest[:brk].rstrip() if brk > 0 else ""
        if not head:  # no usable whitespace: cut the word
            head, brk = rest[:cut], cut
        chunks.append(head)
        rest = rest[brk:].lstrip()
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def _title(title: str) -> str:
    return title if len(title) <= TITLE_LIMIT else title[: TITLE_LIMIT - 1] + "…"


def quick_reply_items(options: tuple[QuickReply, ...]) -> list[dict[str, str]]:
    """Graph ``quick_replies``; the payload defaults to the full (untruncated) title."""
    if len(options) > MAX_QUICK_REPLIES:
        log.warning(
            "%d quick replies; Messenger shows at most %d, the rest are dropped",
            len(options),
            MAX_QUICK_REPLIES,
        )
    return [
        {
            "content_type": "text",
            "title": _title(option.title),
            "payload": option.payload if option.payload is not None else option.title,
        }
        for option in options[:MAX_QUICK_REPLIES]
    ]


def button_item(button: Button) -> dict[str, str]:
    """A Graph button: ``web_url`` when the button has a URL, else ``postback``."""
    if button.url:
        return {"type": "web_url", "url": button.url, "title": _title(button.title)}
    payload = button.payload if button.payload is not None else button.title
    return {"type": "postback", "title": _title(button.title), "payload": payload}


def _button_template(text: str, buttons: tuple[Button, ...]) -> dict[str, Any]:
    return {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "button",
                "text": text,
                "buttons": [button_item(b) for b in buttons],
            },
        }
    }


def reply_messages(
    reply: Reply, text_limit: int = TEXT_LIMIT, *, utf8: bool = False
) -> list[dict[str, Any]]:
    """The Graph ``message`` objects for one reply, in sending order.

    Long text becomes several messages. Buttons go in a button template on the last chunk
    (640 characters at most, so the text may be split shorter), three per template; quick
    replies are attached to the last message, where Messenger shows them. ``text_limit`` and
    ``utf8`` are the product's text limit and how it counts (Instagram: 1000 UTF-8 bytes).
    """
    chunks = split_text(reply.text, text_limit, utf8=utf8)
    messages: list[dict[str, Any]] = []
    if reply.buttons:
        last = chunks.pop()
        chunks.extend(split_text(last, min(BUTTON_TEXT_LIMIT, text_limit), utf8=utf8))
        template_text = chunks.pop()
        messages.extend({"text": chunk} for chunk in chunks)
        groups = [
            reply.buttons[i : i + MAX_BUTTONS] for i in range(0, len(reply.buttons), MAX_BUTTONS)
        ]
        for index, group in enumerate(groups):
            text = template_text if index == 0 else MORE_BUTTONS_TEXT
            messages.append(_button_template(text or MORE_BUTTONS_TEXT, group))
    else:
        messages.extend({"text": chunk} for chunk in chunks)
    if reply.quick_replies:
        messages[-1]["quick_replies"] = quick_reply_items(reply.quick_replies)
    return messages


def message_body(user_id: str, message: dict[str, Any], tag: str | None = None) -> Body:
    """A Send API body answering ``user_id``'s message (``messaging_type`` RESPONSE), or,
    with a message ``tag``, one sent outside the 24-hour window (MESSAGE_TAG)."""
    if tag is not None:
        return {
            "recipient": {"id": user_id},
            "messaging_type": "MESSAGE_TAG",
            "tag": tag,
            "message": message,
        }
    return {"recipient": {"id": user_id}, "messaging_type": "RESPONSE", "message": message}


def sender_action_body(user_id: str, action: str) -> Body:
    """A sender action (``typing_on``, ``typing_off``, ``mark_seen``) goes alone."""
    return {"recipient": {"id": user_id}, "sender_action": action}
