"""Constants, rules and request helpers shared by the facebook tests (``tests/facebook/``)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from chatbotmaker_core import Button, QuickReply
from devsupport.facebook import sign as signature_of

SAMPLES = Path(__file__).resolve().parents[1] / "facebook" / "samples"
TOKEN = "EAAGtestPAGEtoken0123456789abcdefSECRET"
APP_SECRET = "app-secret-5f4dcc3b5aa765d61d8327deb882cf99"
VERIFY_TOKEN = "verify-me-please"
PROOF = hmac.new(APP_SECRET.encode(), TOKEN.encode(), hashlib.sha256).hexdigest()
PSID = "<PSID>"  # the sender id in Meta's samples

#: a bot reply longer than one Messenger message: 3 chunks of at most 2000 characters
LONG_TEXT = " ".join(f"word{i:04d}" for i in range(500))


def func_welcome(user, user_input):
    """Answers ``<kind>:<user_input>`` (plus attachment types), or a few commands."""
    message = user.message
    if user_input == "menu":
        user.send_quick_replies(
            "Pick a colour", ["Red", QuickReply("An extremely long colour name", payload="LONG")]
        )
    elif user_input == "buttons":
        user.send_buttons(
            "Choose", [Button("Yes", payload="YES"), Button("Site", url="https://example.com")]
        )
    elif user_input == "long":
        user.send_message(LONG_TEXT)
    elif user_input == "two":
        user.send_message("first")
        user.send_message("second")
    elif user_input == "silent":
        return
    else:
        reply = f"{message.kind}:{user_input}"
        if message.attachments:
            reply += " [" + ",".join(str(a.get("type")) for a in message.attachments) + "]"
        user.send_message(reply)


RULES = {"actions": {"welcome": {"func": func_welcome}}}


def sample(name: str) -> dict[str, Any]:
    """One of Meta's documented payloads (copied from shared/facebook-samples)."""
    return json.loads((SAMPLES / f"{name}.json").read_text())


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / f"{name}.json").read_bytes()


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    """The signature header of ``body``, with the tests' app secret unless told otherwise."""
    return signature_of(body, secret)


def post(client, payload: Any, *, signature: str | None | bool = True, path: str = "/webhook"):
    """POST ``payload`` (dict, str or bytes) signed with the app secret unless told otherwise.

    ``signature``: True signs correctly, False/None sends no header, a string is sent as is.
    """
    if isinstance(payload, bytes):
        body = payload
    elif isinstance(payload, str):
        body = payload.encode()
    else:
        body = json.dumps(payload).encode()
    headers = {}
    if signature is True:
        headers["X-Hub-Signature-256"] = sign(body)
    elif isinstance(signature, str):
        headers["X-Hub-Signature-256"] = signature
    return client.post(path, data=body, headers=headers, content_type="application/json")


def event(psid: str, mid: str, text: str, timestamp: int = 1458692752478) -> dict[str, Any]:
    """A text message event in Meta's shape."""
    return {
        "sender": {"id": psid},
        "recipient": {"id": "PAGE"},
        "timestamp": timestamp,
        "message": {"mid": mid, "text": text},
    }


def batch(*entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A webhook body with one entry per list of events."""
    return {
        "object": "page",
        "entry": [{"id": "PAGE", "time": 1458692752478, "messaging": events} for events in entries],
    }
