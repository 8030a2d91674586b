"""``MetaMessenger``: what Messenger, Instagram and WhatsApp share.

Meta's three messaging products sign webhooks the same way (``X-Hub-Signature-256`` with the
app secret), verify subscriptions with the same GET handshake and answer with the same Graph
error envelope. This base holds that part: the secrets, the checks, the webhook blueprint and
the render/send seam core delivery drives. A subclass says which ``channel`` it is (the name
it is registered under, and later the name of its webhook), which webhook ``object`` it
serves, how to read a body (``parse_webhook``) and how to render a reply.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from chatbotmaker_core import Message, Messenger, Reply

from .parse import parse_payload
from .redact import Secret
from .send_api import SendApi
from .signature import tokens_match, valid_signature

if TYPE_CHECKING:
    from flask import Blueprint

    from chatbotmaker_core import Bot

log = logging.getLogger(__name__)


class MetaMessenger(Messenger):
    """A messenger on one of Meta's products: signed webhooks, a Graph API client (``api``).

    Subclasses call :meth:`_setup_secrets` from ``__init__`` and set ``api``.
    """

    #: the messenger's name (its plugin registration, its webhook blueprint)
    channel = "meta"
    #: the webhook body's ``object`` this messenger answers
    webhook_object = "page"
    #: free-form messages only within 24 hours of the user's last one (all three products)
    reply_window = True

    api: SendApi
    insecure_allow_unsigned: bool
    setup_problems: list[str]

    def _setup_secrets(
        self, app_secret: str | None, verify_token: str | None, insecure_allow_unsigned: bool
    ) -> None:
        self._app_secret = Secret(app_secret or "")
        self._verify_token = Secret(verify_token or "")
        self.insecure_allow_unsigned = bool(insecure_allow_unsigned) and not app_secret
        #: what makes every webhook request fail although the messenger can be built (it may
        #: still send, and `chat` does not need it): `chatbotmaker check` reports them
        self.setup_problems = secret_problems(
            app_secret, verify_token, self.insecure_allow_unsigned
        )
        if self.insecure_allow_unsigned:
            log.warning(
                "%s messenger: insecure_allow_unsigned = true and no app_secret: the webhook "
                "accepts UNSIGNED requests from anyone. Use it for local testing only.",
                self.channel,
            )
        elif not app_secret:
            log.warning(
                "%s messenger: no app_secret; the webhook will refuse every POST (403) until "
                "it is set",
                self.channel,
            )

    def __repr__(self) -> str:
        secret = "set" if self.has_app_secret else "unset"
        verify = "set" if self._verify_token else "unset"
        return (
            f"{type(self).__name__}(url={self.api.url!r}, app_secret={secret}, "
            f"verify_token={verify})"
        )

    @property
    def has_app_secret(self) -> bool:
        return bool(self._app_secret)

    # -- sending ------------------------------------------------------------------------

    def send(self, user_id: str, text: str) -> Any:
        """Send ``text`` (split into several messages past the product's limit)."""
        return self.send_reply(user_id, Reply(str(text)))

    def send_reply(self, user_id: str, reply: Reply) -> Any:
        """Send a reply with its quick replies and buttons at once, without retrying; the last
        API answer. Raises :class:`~chatbotmaker_facebook.errors.GraphAPIError` (a
        ``DeliveryError``). A bot's replies go through :meth:`render` and
        :meth:`send_payload` instead, which core delivery retries message by message.
        """
        answer: Any = None
        for payload in self.render(user_id, reply):
            answer = self.send_payload(user_id, payload)
        return answer

    def send_payload(self, user_id: str, payload: Any) -> Any:
        """POST one body of :meth:`render`; the API's answer."""
        return self.api.post(payload)

    # -- receiving ------------------------------------------------------------------------

    def parse_webhook(self, payload: Any) -> list[Message]:
        """The messages of a decoded webhook body (``PayloadError`` when its frame is wrong)."""
        return parse_payload(payload, self.webhook_object)

    def verify_signature(self, body: bytes, header: str | None) -> bool:
        """Whether ``X-Hub-Signature-256`` is the HMAC-SHA256 of ``body`` with the app secret."""
        if not self._app_secret:
            return False
        return valid_signature(body, header, self._app_secret.reveal())

    def check_verify_token(self, token: str | None) -> bool:
        """Whether ``hub.verify_token`` matches (constant time); False when none is set."""
        return tokens_match(token, self._verify_token.reveal())

    def blueprint(self, bot: Bot) -> Blueprint:
        """The webhook (GET verification, signed POST events) for ``create_app``."""
        from .webhook import make_blueprint  # Flask: imported when a webhook is served

        return make_blueprint(bot, self)


def common_option_problems(
    app_secret: Any,
    verify_token: Any,
    graph_url: Any,
    api_version: Any,
    timeout: Any,
    insecure: Any,
) -> list[str]:
    """The problems of the options every Meta messenger takes, each naming its option."""
    problems = []
    for name, value in (("app_secret", app_secret), ("verify_token", verify_token)):
        if value is not None and not isinstance(value, str):
            problems.append(f"{name} must be a string")
    if not isinstance(graph_url, str) or not graph_url.startswith(("https://", "http://")):
        problems.append(f"graph_url must be an http(s) URL, got {graph_url!r}")
    if not isinstance(api_version, str) or not api_version.strip("/"):
        problems.append(f"api_version must look like 'v25.0', got {api_version!r}")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        problems.append(
            f"timeout = {timeout!r} is out of range: it must be a finite number of seconds > 0"
        )
    if not isinstance(insecure, bool):
        problems.append(f"insecure_allow_unsigned must be true or false, got {insecure!r}")
    return problems


def secret_problems(app_secret: Any, verify_token: Any, insecure: bool) -> list[str]:
    """Secrets whose absence makes every webhook request fail (never their values)."""
    problems = []
    if not app_secret and not insecure:
        problems.append(
            "app_secret is empty: the webhook refuses every POST (403); set it to the app "
            "secret (App settings > Basic), or insecure_allow_unsigned = true for local tests"
        )
    if not verify_token:
        problems.append(
            "verify_token is missing or empty: Meta's webhook verification (GET) always fails; "
            "set it to the string you type in the webhook setup"
        )
    return problems
