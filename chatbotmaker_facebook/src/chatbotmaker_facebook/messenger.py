"""``FacebookMessenger``: the core's Messenger on the Messenger Platform's Send API."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import urllib3

from chatbotmaker_core import ConfigError, DeliveryError, Messenger, Reply

from .payloads import message_body, reply_messages, sender_action_body
from .redact import Secret
from .send_api import SendApi
from .signature import tokens_match, valid_signature

if TYPE_CHECKING:
    from flask import Blueprint

    from chatbotmaker_core import Bot

log = logging.getLogger(__name__)

#: what ``turn_started`` sends before a turn's handlers run: one Send API call at most
TURN_ACTIONS = ("typing_on", "mark_seen", "none")


class FacebookMessenger(Messenger):
    """Sends through the Send API and receives Meta's webhook (see :meth:`blueprint`).

    ``app_secret`` signs webhooks and adds ``appsecret_proof`` to Send API calls; without it
    the webhook refuses every POST unless ``insecure_allow_unsigned`` is true (local testing
    only). ``turn_action`` is the one sender action made per incoming message: ``typing_on``
    (default: the user sees the bot is working; a reply turns it off), ``mark_seen`` or
    ``none``. Options are the ``[messenger]`` table of ``chatbotmaker.toml``.
    """

    def __init__(
        self,
        page_access_token: str,
        *,
        app_secret: str | None = None,
        verify_token: str | None = None,
        graph_url: str = "https://graph.facebook.com",
        api_version: str = "v25.0",
        timeout: float = 10.0,
        insecure_allow_unsigned: bool = False,
        turn_action: str = "typing_on",
        http: urllib3.PoolManager | None = None,
    ) -> None:
        problems = _option_problems(
            page_access_token,
            app_secret,
            verify_token,
            graph_url,
            api_version,
            timeout,
            insecure_allow_unsigned,
            turn_action,
        )
        if problems:
            raise ConfigError("; ".join(problems), problems)
        self._app_secret = Secret(app_secret or "")
        self._verify_token = Secret(verify_token or "")
        self.insecure_allow_unsigned = bool(insecure_allow_unsigned) and not app_secret
        self.turn_action = turn_action
        self.api = SendApi(
            page_access_token,
            app_secret=app_secret or None,
            graph_url=graph_url,
            api_version=api_version,
            timeout=float(timeout),
            http=http,
        )
        #: what makes every webhook request fail although the messenger can be built (it may
        #: still send, and `chat` does not need it): `chatbotmaker check` reports them
        self.setup_problems: list[str] = _secret_problems(
            app_secret, verify_token, self.insecure_allow_unsigned
        )
        if self.insecure_allow_unsigned:
            log.warning(
                "facebook messenger: insecure_allow_unsigned = true and no app_secret: the "
                "webhook accepts UNSIGNED requests from anyone. Use it for local testing only."
            )
        elif not app_secret:
            log.warning(
                "facebook messenger: no app_secret; the webhook will refuse every POST (403) "
                "until it is set"
            )

    def __repr__(self) -> str:
        secret = "set" if self.has_app_secret else "unset"
        verify = "set" if self._verify_token else "unset"
        return (
            f"FacebookMessenger(url={self.api.url!r}, app_secret={secret}, verify_token={verify})"
        )

    @property
    def has_app_secret(self) -> bool:
        return bool(self._app_secret)

    # -- sending ------------------------------------------------------------------------

    def send(self, user_id: str, text: str) -> Any:
        """Send ``text`` (split into several messages past 2000 characters)."""
        return self.send_reply(user_id, Reply(str(text)))

    def send_reply(self, user_id: str, reply: Reply) -> Any:
        """Send a reply with its quick replies and buttons at once, without retrying; the last
        Send API answer. Raises :class:`~chatbotmaker_facebook.errors.GraphAPIError` (a
        ``DeliveryError``). A bot's replies go through :meth:`render` and
        :meth:`send_payload` instead, which core delivery retries message by message.
        """
        answer: Any = None
        for payload in self.render(user_id, reply):
            answer = self.send_payload(user_id, payload)
        return answer

    def render(self, user_id: str, reply: Reply) -> list[dict[str, Any]]:
        """The Send API bodies of ``reply``: one per message, a long text split in several
        (``payloads.py``); none for an empty reply, which the platform would refuse."""
        if not reply.text.strip() and not reply.quick_replies and not reply.buttons:
            log.warning("not sending an empty message to user %s", user_id)
            return []
        return [message_body(user_id, message) for message in reply_messages(reply)]

    def send_payload(self, user_id: str, payload: Any) -> Any:
        """POST one body of :meth:`render`; the Send API's answer."""
        return self.api.post(payload)

    def sender_action(self, user_id: str, action: str) -> bool:
        """Best effort: a failed indicator is logged, never raised (it is cosmetic)."""
        try:
            self.api.post(sender_action_body(user_id, action))
        except DeliveryError as error:
            log.warning("sender action %s for user %s failed: %s", action, user_id, error)
            return False
        return True

    def mark_seen(self, user_id: str) -> None:
        self.sender_action(user_id, "mark_seen")

    def mark_writing(self, user_id: str, on: bool) -> None:
        self.sender_action(user_id, "typing_on" if on else "typing_off")

    def turn_started(self, user_id: str) -> None:
        """One sender action per incoming message (``turn_action``), never two."""
        if self.turn_action != "none":
            self.sender_action(user_id, self.turn_action)

    # -- receiving ------------------------------------------------------------------------

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


def _option_problems(
    token: Any,
    app_secret: Any,
    verify_token: Any,
    graph_url: Any,
    api_version: Any,
    timeout: Any,
    insecure: Any,
    turn_action: Any,
) -> list[str]:
    """Every option at fault, so start-up fails at once and not at the first message."""
    problems = []
    if not isinstance(token, str) or not token.strip():
        problems.append("page_access_token must be a non-empty string (the Page access token)")
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
    if turn_action not in TURN_ACTIONS:
        problems.append(
            f"turn_action must be one of {', '.join(TURN_ACTIONS)}, got {turn_action!r}"
        )
    return problems


def _secret_problems(app_secret: Any, verify_token: Any, insecure: bool) -> list[str]:
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
