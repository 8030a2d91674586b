"""``FacebookMessenger``: the core's Messenger on the Messenger Platform's Send API."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import urllib3

from chatbotmaker_core import ConfigError, DeliveryError, Reply

from .meta import MetaMessenger, common_option_problems
from .payloads import TEXT_LIMIT, message_body, reply_messages, sender_action_body
from .profile import ProfileApi, profile_problems
from .send_api import SendApi

log = logging.getLogger(__name__)

#: what ``turn_started`` sends before a turn's handlers run: one Send API call at most
TURN_ACTIONS = ("typing_on", "mark_seen", "none")


class FacebookMessenger(MetaMessenger):
    """Sends through the Send API and receives Meta's webhook (see :meth:`blueprint`).

    ``app_secret`` signs webhooks and adds ``appsecret_proof`` to Send API calls; without it
    the webhook refuses every POST unless ``insecure_allow_unsigned`` is true (local testing
    only). ``turn_action`` is the one sender action made per incoming message: ``typing_on``
    (default: the user sees the bot is working; a reply turns it off), ``mark_seen`` or
    ``none``. ``profile`` is the Messenger Profile (``[messenger.profile]``: Meta's field
    names, checked here, sent by ``chatbotmaker profile push``). Options are the
    ``[messenger]`` table of ``chatbotmaker.toml``.
    """

    channel = "facebook"
    webhook_object = "page"
    #: Meta's 24-hour window: ``Bot.send_message`` outside it needs a message tag
    reply_window = True
    message_tags = True
    #: the product's text limit per message, and whether it counts UTF-8 bytes
    text_limit = TEXT_LIMIT
    text_limit_utf8 = False

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
        profile: Mapping[str, Any] | None = None,
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
        problems += profile_problems(profile, self.channel)
        if problems:
            raise ConfigError("; ".join(problems), problems)
        self.turn_action = turn_action
        #: the Messenger Profile of the config, as Meta spells it ({} when none)
        self.profile: dict[str, Any] = dict(profile or {})
        self.api = SendApi(
            page_access_token,
            app_secret=app_secret or None,
            graph_url=graph_url,
            api_version=api_version,
            timeout=float(timeout),
            http=http,
        )
        self._setup_secrets(app_secret, verify_token, insecure_allow_unsigned)
        self._profile_api = ProfileApi(
            page_access_token,
            app_secret=app_secret or None,
            graph_url=graph_url,
            api_version=api_version,
            timeout=float(timeout),
            http=self.api.http,
            platform=None if self.channel == "facebook" else self.channel,
        )

    # -- sending ------------------------------------------------------------------------

    def render(self, user_id: str, reply: Reply) -> list[dict[str, Any]]:
        """The Send API bodies of ``reply``: one per message, a long text split in several
        (``payloads.py``); none for an empty reply, which the platform would refuse."""
        if not reply.text.strip() and not reply.quick_replies and not reply.buttons:
            log.warning("not sending an empty message to user %s", user_id)
            return []
        messages = reply_messages(reply, self.text_limit, utf8=self.text_limit_utf8)
        return [message_body(user_id, message, reply.tag) for message in messages]

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

    @property
    def acts_on_turn_start(self) -> bool:
        return self.turn_action != "none"

    def turn_started(self, user_id: str) -> None:
        """One sender action per incoming message (``turn_action``), never two."""
        if self.acts_on_turn_start:
            self.sender_action(user_id, self.turn_action)

    # -- the Messenger Profile ----------------------------------------------------------------

    def push_profile(self) -> dict[str, Any]:
        """POST the configured profile to ``me/messenger_profile``; Graph's answer."""
        return self._profile_api.push(self.profile)

    def fetch_profile(self, fields: list[str] | None = None) -> dict[str, Any]:
        """GET the profile Meta holds: ``fields`` (default: the configured ones, else every
        field this product knows)."""
        return self._profile_api.show(fields or list(self.profile) or None)


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
    problems += common_option_problems(
        app_secret, verify_token, graph_url, api_version, timeout, insecure
    )
    if turn_action not in TURN_ACTIONS:
        problems.append(
            f"turn_action must be one of {', '.join(TURN_ACTIONS)}, got {turn_action!r}"
        )
    return problems
