"""``AcmeMessenger``: replies as JSON lines, incoming messages from a small JSON webhook.

Acme Chat is a made-up platform with the simplest possible API, so that this example shows
only what chatbotmaker asks of a messenger:

- outgoing: Acme's relay picks up one JSON object per line, ``{"to": "<user id>", "text":
  "..."}``, from a file (``path``) or from the process's standard output;
- incoming: Acme POSTs ``{"from": "<user id>", "text": "...", "id": "<message id>"}`` to the
  bot's webhook, with the shared secret in the ``X-Acme-Token`` header.
"""

from __future__ import annotations

import hmac
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, jsonify, request

from chatbotmaker_core import ConfigError, DeliveryError, Message, Messenger

if TYPE_CHECKING:
    from chatbotmaker_core import Bot

#: errors of writing the outbox file that trying again will not fix
_PERMANENT = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


class AcmeMessenger(Messenger):
    """Sends replies to Acme Chat.

    Built by chatbotmaker from the bot's ``[messenger]`` table, every key but ``name`` being a
    keyword argument::

        [messenger]
        name = "acme"
        path = "outbox.jsonl"      # optional: append here; standard output when omitted
        prefix = "[acme] "         # optional: prepended to every reply
        webhook_token = "${ACME_TOKEN}"  # optional: required in X-Acme-Token when set
    """

    def __init__(
        self,
        path: str | None = None,
        prefix: str = "",
        webhook_token: str | None = None,
    ) -> None:
        for option, value in (("path", path), ("webhook_token", webhook_token)):
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{option} must be a string, got {type(value).__name__}")
        if not isinstance(prefix, str):
            raise ConfigError(f"prefix must be a string, got {type(prefix).__name__}")
        self.path = Path(path) if path else None
        self.prefix = prefix
        self.webhook_token = webhook_token
        # `chatbotmaker chat` keeps a messenger that prints to the terminal; one that writes
        # to the outbox file is swapped for the `dev` messenger there.
        self.prints_to_terminal = self.path is None

    def send(self, user_id: str, text: str) -> None:
        """Write one reply as a JSON line; a failed write raises :class:`DeliveryError`."""
        line = json.dumps({"to": user_id, "text": self.prefix + text}, ensure_ascii=False)
        if self.path is None:
            print(line, flush=True)
            return
        try:
            with self.path.open("a", encoding="utf-8") as outbox:
                outbox.write(line + "\n")
        except OSError as error:
            # transient=True makes chatbotmaker retry with backoff before recording a failure.
            raise DeliveryError(
                f"cannot write to Acme outbox {str(self.path)!r}: {error}",
                transient=not isinstance(error, _PERMANENT),
            ) from error

    def blueprint(self, bot: Bot) -> Blueprint:
        """The webhook Acme posts incoming messages to (``chatbotmaker serve`` mounts it at
        ``/webhook``)."""
        webhook = Blueprint("acme", __name__)

        @webhook.post("")
        def receive() -> Any:
            if self.webhook_token is not None:
                given = request.headers.get("X-Acme-Token", "").encode()
                if not hmac.compare_digest(given, self.webhook_token.encode()):
                    return jsonify(error="missing or wrong X-Acme-Token"), 403
            event = request.get_json(silent=True)
            if not _is_event(event):
                return jsonify(error='expected {"from": "<user id>", "text": "<text>"}'), 400
            message = Message(user_id=event["from"], text=event["text"], message_id=event.get("id"))
            bot.handle(message)
            return jsonify(ok=True)

        return webhook


def _is_event(event: Any) -> bool:
    return (
        isinstance(event, dict)
        and isinstance(event.get("from"), str)
        and isinstance(event.get("text"), str)
        and isinstance(event.get("id", ""), str)
    )
