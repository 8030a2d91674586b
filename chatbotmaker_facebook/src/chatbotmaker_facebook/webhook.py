"""The webhook: Meta's subscription check (GET) and signed event deliveries (POST).

Order of a POST, each step refusing before the next one runs: size (413), signature over the
raw bytes (403), JSON (400), the body's frame (400); only then is any event handled. Bad input
therefore never reaches the parser unauthenticated and never gets a 5xx. Each event stands
alone: one that can never be handled is skipped and logged, and the others are. A failure of
the bot itself (the database is down) is a 503 on purpose, once every event was tried: Meta
redelivers, and handled ids are skipped.
Messages go to ``Bot.receive``: handled in the request (``mode = "inline"``) or enqueued for
a worker (``mode = "queued"``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from flask import Blueprint, Request, Response, request
from werkzeug.exceptions import HTTPException

from chatbotmaker_core.web import MAX_BODY_BYTES, receive_events

from .parse import PayloadError, parse_payload
from .signature import tokens_match, valid_signature

if TYPE_CHECKING:
    from chatbotmaker_core import Bot, Message

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
#: what Meta's sample servers answer; Meta only looks at the status
RECEIVED = "EVENT_RECEIVED"

Verifier = Callable[[bytes, "str | None"], bool]
#: a decoded webhook body -> the messages to hand the bot (raises PayloadError for a 400)
Parser = Callable[[Any], "list[Message]"]


@runtime_checkable
class SignedWebhook(Protocol):
    """What the webhook needs of a messenger (``FacebookMessenger`` is one): the webhook
    depends on this, not on the messenger module, which imports the webhook to serve it."""

    insecure_allow_unsigned: bool

    @property
    def has_app_secret(self) -> bool: ...

    def verify_signature(self, body: bytes, header: str | None) -> bool: ...

    def check_verify_token(self, token: str | None) -> bool: ...


def _plain(text: str, status: int) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def verify_subscription(args: Any, token_ok: Callable[[str | None], bool]) -> Response:
    """GET: answer Meta's ``hub.challenge`` when the mode and verify token are right."""
    mode = args.get("hub.mode")
    challenge = args.get("hub.challenge")
    if mode == "subscribe" and challenge is not None and token_ok(args.get("hub.verify_token")):
        log.info("webhook verified by Meta (subscribe)")
        return _plain(challenge, 200)
    log.warning(
        "webhook verification refused (hub.mode=%r): wrong or missing verify token",
        str(mode)[:20] if mode is not None else None,
    )
    return _plain("forbidden", 403)


def read_body(req: Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The raw body, or None when it is larger than ``limit`` bytes (checked before reading)."""
    length = req.content_length
    if length is not None and length > limit:
        return None
    try:
        data = req.get_data(cache=True) if length is not None else req.stream.read(limit + 1)
    except HTTPException as error:  # 413 from MAX_CONTENT_LENGTH, 400 on a cut-off body
        if error.code == 413:
            return None
        raise
    return None if len(data) > limit else data


def receive(
    req: Request,
    bot: Bot,
    *,
    verify: Verifier | None,
    allow_unsigned: bool = False,
    limit: int = MAX_BODY_BYTES,
    parse: Parser = parse_payload,
) -> Response:
    """POST: check size and signature, parse, then hand every message to ``bot.receive``.

    ``verify`` checks the signature header against the body; ``None`` means no app secret is
    known, and then the POST is refused unless ``allow_unsigned``. ``parse`` reads the
    product's body shape (Messenger's by default; WhatsApp's differs).
    """
    remote = req.remote_addr
    body = read_body(req, limit)
    if body is None:
        log.warning("webhook POST refused (413): body over %d bytes, from %s", limit, remote)
        return _plain("payload too large", 413)
    if verify is not None:
        header = req.headers.get(SIGNATURE_HEADER)
        if not verify(body, header):
            if header:
                log.error(
                    "webhook POST refused (403): %s does not match the app secret (from %s, "
                    "%d bytes). If Meta's deliveries all fail, app_secret is wrong and Meta "
                    "will eventually disable the webhook.",
                    SIGNATURE_HEADER,
                    remote,
                    len(body),
                )
            else:
                log.warning(
                    "webhook POST refused (403): no %s header (from %s)", SIGNATURE_HEADER, remote
                )
            return _plain("invalid signature", 403)
    elif not allow_unsigned:
        log.error(
            "webhook POST refused (403): no app_secret is configured, so deliveries cannot be "
            "verified. Set app_secret (or insecure_allow_unsigned = true for local testing)."
        )
        return _plain("forbidden: webhook has no app secret", 403)
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as error:
        log.warning("webhook POST refused (400): body is not JSON (%s)", type(error).__name__)
        return _plain("malformed JSON", 400)
    try:
        messages = parse(payload)
    except PayloadError as error:
        log.warning("webhook POST refused (400): %s", error)
        return _plain(f"unexpected body: {error}", 400)
    if not receive_events(bot, messages):  # each event on its own: see receive_events
        return _plain("temporarily unavailable: deliver again", 503)
    return _plain(RECEIVED, 200)


def make_blueprint(bot: Bot, messenger: SignedWebhook) -> Blueprint:
    """The blueprint ``create_app`` mounts at ``/webhook`` (``/webhook/`` works too).

    Named after the messenger's ``channel`` (``facebook_webhook``, ``whatsapp_webhook``...) and
    parsing with its ``parse_webhook``, so one app can mount one blueprint per messenger.
    """
    channel = getattr(messenger, "channel", "facebook")
    blueprint = Blueprint(f"{channel}_webhook", __name__)
    verify = messenger.verify_signature if messenger.has_app_secret else None
    parse: Parser = getattr(messenger, "parse_webhook", parse_payload)

    def webhook() -> Response:
        if request.method == "GET":
            return verify_subscription(request.args, messenger.check_verify_token)
        return receive(
            request,
            bot,
            verify=verify,
            allow_unsigned=messenger.insecure_allow_unsigned,
            parse=parse,
        )

    blueprint.add_url_rule("", "webhook", webhook, methods=["GET", "POST"])
    blueprint.add_url_rule("/", "webhook_slash", webhook, methods=["GET", "POST"])
    return blueprint


def facebook_route(
    request: Request,
    facebook_check_token: str | None,
    bot: Bot,
    *,
    app_secret: str | None = None,
    insecure_allow_unsigned: bool | None = None,
) -> Response:
    """The seed's helper for a view of your own Flask app: ``return facebook_route(...)``.

    GET verifies the subscription with ``facebook_check_token``. POST behaves like the
    blueprint: the signature is checked with ``app_secret`` if given, else with the app secret
    of ``bot.messenger`` when it is a :class:`SignedWebhook` (a ``FacebookMessenger``) that has
    one; with neither, the POST is refused (403) unless ``insecure_allow_unsigned`` (default:
    the messenger's setting) is true.
    """
    if request.method == "GET":
        return verify_subscription(request.args, lambda t: tokens_match(t, facebook_check_token))
    if request.method != "POST":
        response = _plain("method not allowed", 405)
        response.headers["Allow"] = "GET, POST"
        return response
    messenger = bot.messenger
    verify: Verifier | None = None
    allow = bool(insecure_allow_unsigned)
    if app_secret:
        secret = app_secret
        verify = lambda body, header: valid_signature(body, header, secret)  # noqa: E731
    elif isinstance(messenger, SignedWebhook):
        if messenger.has_app_secret:
            verify = messenger.verify_signature
        if insecure_allow_unsigned is None:
            allow = messenger.insecure_allow_unsigned
    parse: Parser = getattr(messenger, "parse_webhook", parse_payload)
    return receive(request, bot, verify=verify, allow_unsigned=allow, parse=parse)
