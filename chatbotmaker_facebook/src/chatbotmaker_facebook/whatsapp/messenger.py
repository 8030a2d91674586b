"""``WhatsAppMessenger``: the core's Messenger on the WhatsApp Cloud API."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

import urllib3

from chatbotmaker_core import ConfigError, DeliveryError, Message, Reply

from ..meta import MetaMessenger, common_option_problems
from ..send_api import SendApi
from .errors import whatsapp_error
from .parse import WEBHOOK_OBJECT, parse_whatsapp
from .render import LIST_BUTTON_LIMIT, read_receipt, render_reply

log = logging.getLogger(__name__)

#: what ``turn_started`` does before a turn's handlers run
TURN_ACTIONS = ("mark_seen", "none")
#: users whose last inbound message id is remembered for the read receipt
REMEMBERED_USERS = 10_000


class WhatsAppMessenger(MetaMessenger):
    """Sends through ``POST /{api_version}/{phone_number_id}/messages`` (bearer token) and
    receives the Cloud API's webhook (``object: "whatsapp_business_account"``).

    ``access_token`` is a system user's (or the app's temporary) token; ``phone_number_id``
    the id of the business number (not the number itself). ``app_secret`` and
    ``verify_token`` work as for :class:`~chatbotmaker_facebook.FacebookMessenger`.
    ``turn_action`` ``mark_seen`` (default) sends a read receipt for the user's message before
    the handlers run; ``list_button`` is the label of the button opening a list of choices.
    """

    channel = "whatsapp"
    webhook_object = WEBHOOK_OBJECT

    def __init__(
        self,
        access_token: str,
        *,
        phone_number_id: str,
        app_secret: str | None = None,
        verify_token: str | None = None,
        graph_url: str = "https://graph.facebook.com",
        api_version: str = "v25.0",
        timeout: float = 10.0,
        insecure_allow_unsigned: bool = False,
        turn_action: str = "mark_seen",
        list_button: str = "Choose",
        http: urllib3.PoolManager | None = None,
    ) -> None:
        if isinstance(phone_number_id, int) and not isinstance(phone_number_id, bool):
            phone_number_id = str(phone_number_id)
        problems = []
        if not isinstance(access_token, str) or not access_token.strip():
            problems.append("access_token must be a non-empty string (the Cloud API token)")
        if not isinstance(phone_number_id, str) or not phone_number_id.strip().isdigit():
            problems.append(
                f"phone_number_id must be the numeric id of the business phone number "
                f"(WhatsApp Manager > API setup), got {phone_number_id!r}"
            )
        problems += common_option_problems(
            app_secret, verify_token, graph_url, api_version, timeout, insecure_allow_unsigned
        )
        if turn_action not in TURN_ACTIONS:
            problems.append(
                f"turn_action must be one of {', '.join(TURN_ACTIONS)}, got {turn_action!r}"
            )
        if not isinstance(list_button, str) or not 0 < len(list_button) <= LIST_BUTTON_LIMIT:
            problems.append(f"list_button must be 1-{LIST_BUTTON_LIMIT} characters")
        if problems:
            raise ConfigError("; ".join(problems), problems)
        self.phone_number_id = phone_number_id.strip()
        self.turn_action = turn_action
        self.list_button = list_button
        self.api = SendApi(
            access_token,
            app_secret=app_secret or None,
            graph_url=graph_url,
            api_version=api_version,
            timeout=float(timeout),
            http=http,
            path=f"{self.phone_number_id}/messages",
            bearer=True,
            errors=whatsapp_error,
        )
        self._setup_secrets(app_secret, verify_token, insecure_allow_unsigned)
        self._last_inbound: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    # -- sending ------------------------------------------------------------------------

    def render(self, user_id: str, reply: Reply) -> list[dict[str, Any]]:
        """The Cloud API bodies of ``reply`` (``render.py``); none for an empty reply."""
        if not reply.text.strip() and not reply.quick_replies and not reply.buttons:
            log.warning("not sending an empty message to user %s", user_id)
            return []
        return render_reply(user_id, reply, self.list_button)

    def mark_seen(self, user_id: str, wamid: str | None = None) -> None:
        """A read receipt for ``wamid``, or the user's last message received by this
        process's webhook.

        WhatsApp marks a message read by its id: a turn passes it (``turn_started``, so a
        queued worker sends receipts too); otherwise the messenger remembers the last one its
        webhook parsed. Best effort: a failure is logged, never raised.
        """
        if wamid is None:
            with self._lock:
                wamid = self._last_inbound.get(user_id)
        if wamid is None:
            log.debug("no inbound message of user %s known: no read receipt", user_id)
            return
        try:
            self.api.post(read_receipt(wamid))
        except DeliveryError as error:
            log.warning("read receipt for user %s failed: %s", user_id, error)

    @property
    def acts_on_turn_start(self) -> bool:
        return self.turn_action == "mark_seen"

    def turn_started(self, user_id: str, message: Message | None = None) -> None:
        """The read receipt of the turn's ``message`` (core passes it as ``message=``)."""
        if self.acts_on_turn_start:
            self.mark_seen(user_id, message.message_id if message is not None else None)

    # -- receiving ------------------------------------------------------------------------

    def parse_webhook(self, payload: Any) -> list[Message]:
        """The messages of a Cloud API webhook body for this phone number."""
        messages = parse_whatsapp(payload, self.phone_number_id)
        for message in messages:
            self._remember(message)
        return messages

    def _remember(self, message: Message) -> None:
        if message.message_id is None:
            return
        with self._lock:
            self._last_inbound[message.user_id] = message.message_id
            self._last_inbound.move_to_end(message.user_id)
            while len(self._last_inbound) > REMEMBERED_USERS:
                self._last_inbound.popitem(last=False)
