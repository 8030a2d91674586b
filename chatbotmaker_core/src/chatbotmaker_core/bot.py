"""The ``Bot``: messenger, dispatcher and database wired together, one turn per message."""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

from .channels import check_send, messengers_for, unknown_channel
from .config import build_parts
from .database import Database
from .delivery import RetryPolicy, deliver, send_reply_with_retry, time_left, turn_deadline
from .dispatcher import Dispatcher
from .errors import ConfigError, UnknownStateError, did_you_mean
from .message import Message, Reply
from .messenger import Messenger
from .metrics import observe_turn
from .ordering import UserLocks
from .ranges import Range
from .turn import DeliverAfterCommit, HandlerFailed, ReplySink, Turn

if TYPE_CHECKING:
    from .plugins import PluginManager
    from .queued import Queue

log = logging.getLogger(__name__)

DEFAULT_ERROR_MESSAGE = "Sorry, something went wrong on our side. Please try again."

#: [bot] option -> (type, default)
BOT_OPTIONS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "initial_state": (str, "welcome"),
    "error_message": (str, DEFAULT_ERROR_MESSAGE),
    "mode": (str, "inline"),
    "send_attempts": (int, RetryPolicy.attempts),
    "send_backoff": ((int, float), RetryPolicy.backoff),
    "send_max_backoff": ((int, float), RetryPolicy.max_backoff),
    "send_deadline": ((int, float), RetryPolicy.deadline),
    "job_attempts": (int, 5),
    "job_retry_wait": (int, 2),
}
MODES = ("inline", "queued")
#: [bot] option -> the range its value must lie in (see ranges.py)
BOT_RANGES: dict[str, Range] = {
    "send_attempts": Range(1, why="1 sends once without retry; 0 would drop every reply"),
    "send_backoff": Range(0, why="seconds"),
    "send_max_backoff": Range(0, why="seconds"),
    "send_deadline": Range(0, exclusive=True, why="seconds a turn's sends may take"),
    "job_attempts": Range(1, why="runs of a queued event, 1 = no retry"),
    "job_retry_wait": Range(0, why="seconds"),
}


@dataclass
class TurnResult:
    """What :meth:`Bot.handle` did with one message."""

    message: Message
    handled: bool = False
    duplicate: bool = False
    error: BaseException | None = None
    replies: list[Reply] = field(default_factory=list)
    sent: int = 0


class Bot:
    """A chat bot: ``Bot(config, messenger, dispatcher, database)``.

    ``config`` holds the ``[bot]`` table's options (may be ``{}``): ``initial_state``,
    ``error_message`` (``""`` sends none), ``mode`` and the ``send_*`` retry settings.

    Several messengers: ``Bot(config, None, dispatcher, database, messengers={"facebook":
    m1, "whatsapp": m2})``; the first (or ``messenger``, when given and among them) is the
    default, ``bot.messenger``. ``bot.messengers`` maps each channel to its messenger.
    """

    def __init__(
        self,
        config: Mapping[str, Any] | None,
        messenger: Messenger | None,
        dispatcher: Dispatcher,
        database: Database,
        *,
        messengers: Mapping[str, Messenger] | None = None,
    ) -> None:
        self.config = dict(config or {})
        #: channel -> messenger; the default channel first
        self.messengers: dict[str, Messenger] = messengers_for(messenger, messengers)
        #: the channel of a message that names none (``Message.channel`` None)
        self.default_channel: str = next(iter(self.messengers))
        self.messenger: Messenger = self.messengers[self.default_channel]
        #: whether each messenger is served at ``/webhook/<channel>`` (``create_app``): given
        #: ``messengers=`` or ``[messengers.<name>]`` tables; one ``[messenger]``: ``/webhook``
        self.channel_urls = messengers is not None
        self.dispatcher = dispatcher
        self.database = database
        options = _bot_options(self.config)
        start = dispatcher.config.get("initial_state")  # a flow's `start`
        if start is not None:
            if self.config.get("initial_state", start) != start:
                raise ConfigError(
                    f"[bot] initial_state {self.config['initial_state']!r} differs from the "
                    f"rules' start {start!r}; remove one of them"
                )
            options["initial_state"] = start
        self.initial_state: str = options["initial_state"]
        self.error_message: str = options["error_message"]
        self.mode: str = options["mode"]
        self.retry_policy = RetryPolicy(
            attempts=options["send_attempts"],
            backoff=options["send_backoff"],
            max_backoff=options["send_max_backoff"],
            deadline=options["send_deadline"],
        )
        try:
            dispatcher.check_state(self.initial_state)
        except UnknownStateError as error:
            raise ConfigError(f"[bot] initial_state: {error}") from None
        self.queue: Queue | None = None
        self._sink: ReplySink = DeliverAfterCommit()
        # A user's turns and their deliveries one at a time in this process (ordering.py).
        self._user_locks = UserLocks()
        if self.mode == "queued":
            if database.engine.dialect.name != "postgresql":
                raise ConfigError(
                    f"[bot] mode = 'queued' needs PostgreSQL, but the database is "
                    f"{database.engine.dialect.name}; use mode = 'inline' or a postgresql URL"
                )
            from .queued import Queue  # procrastinate: imported in queued mode only

            self.queue = Queue(
                database,
                self.handle,
                self.deliver,
                max_attempts=options["job_attempts"],
                retry_wait=options["job_retry_wait"],
                # a worker's own delivery is over by send_deadline; then the fallback may run
                fallback_after=options["send_deadline"] + FALLBACK_MARGIN,
            )
            self._sink = self.queue

    @classmethod
    def from_config(
        cls, source: str | Path | Mapping[str, Any], plugins: PluginManager | None = None
    ) -> Bot:
        """Build a bot from a TOML file (path) or a dict of the same shape.

        Components are found by name among installed plugins, or in ``plugins`` if given.
        """
        parts = build_parts(source, plugins)
        bot = cls(*parts[:4], messengers=parts.messengers)
        bot.channel_urls = parts.channel_urls
        return bot

    def for_channel(self, channel: str) -> Bot:
        """This bot with ``channel`` as its default (``bot.messenger`` that channel's): what
        a channel's webhook blueprint gets, so the messages it receives are that channel's.
        A shallow copy: the database, dispatcher and queue are shared; the bot itself for
        its own default channel."""
        if channel not in self.messengers:
            raise unknown_channel(channel, self.messengers)
        if channel == self.default_channel:
            return self
        view = copy.copy(self)
        view.default_channel = channel
        view.messenger = self.messengers[channel]
        return view

    def channel_of(self, message: Message) -> str:
        """The channel ``message`` came on: its own, or the bot's default; checked."""
        channel = message.channel or self.default_channel
        if channel not in self.messengers:
            raise unknown_channel(channel, self.messengers)
        return channel

    def receive(self, message: Message) -> TurnResult | None:
        """What a webhook calls for each event: handle it now (``inline``), or enqueue it
        (``queued``) for a worker and return ``None``."""
        channel = self.channel_of(message)
        if self.queue is not None:
            if len(self.messengers) > 1:  # the job names its channel: a worker has no view
                message = replace(message, channel=channel)
            self.queue.enqueue(message)
            return None
        return self.handle(message)

    def user_handle(self, user_id: str, user_input: str) -> str:
        """The 0.0.13 entry point: handle one text message from ``user_id``."""
        self.handle(Message(user_id=str(user_id), text=user_input))
        return f"{user_id}'s request has been handled"

    def handle(self, message: Message) -> TurnResult:
        """Handle one message: one atomic turn, then its replies in order.

        ``[bot] send_deadline`` counts from here: the typing indicator, the turn and every
        reply with its retries are over by then, so an inline webhook answers in time.
        """
        channel = self.channel_of(message)
        started = perf_counter()
        with (
            turn_deadline(self.retry_policy),
            self._user_locks.hold(f"{channel}:{message.user_id}", time_left()) as in_order,
        ):
            if not in_order:
                log.warning(
                    "message %s of user %s handled without waiting for the user's previous "
                    "turn to finish sending: the send deadline passed",
                    message.message_id,
                    message.user_id,
                )
            result = self._handle(message)
        observe_turn(turn_outcome(result), perf_counter() - started)  # metrics.py; off: no-op
        return result

    def _handle(self, message: Message) -> TurnResult:
        """The messenger's ``turn_started`` (not for a redelivered id), one atomic turn, then
        its replies in order."""
        result = TurnResult(message)
        channel = message.channel or self.default_channel
        turn = Turn(
            message,
            database=self.database,
            dispatcher=self.dispatcher,
            messenger=self.messengers[channel],
            initial_state=self.initial_state,
            sink=self._sink,
            channel=channel,
        )
        try:
            result.duplicate = not turn.run()
        except HandlerFailed as failure:
            log.error(
                "handler failed for user %s in state %r; turn rolled back",
                message.user_id,
                failure.state,
                exc_info=failure.error,
            )
            result.error = failure.error
            if self.error_message:
                result.replies = [Reply(self.error_message)]
            turn.settle_failed(result.replies)
        else:
            result.handled = not result.duplicate
            result.replies = turn.replies
        if result.duplicate:
            log.info("message %s of user %s already handled", message.message_id, message.user_id)
        elif result.replies and not turn.staged:
            result.sent = self.deliver(message.user_id, result.replies, channel)
        return result

    def deliver(
        self,
        platform_id: str,
        replies: list[Reply],
        channel: str | None = None,
        *,
        later: bool = False,
    ) -> int:
        """Send ``replies`` to ``platform_id`` in order through ``channel``'s messenger (None:
        the default), retrying within ``[bot] send_*``; returns how many were sent (a failure
        is logged and recorded, never raised). ``later`` (a queued delivery job, which runs
        again): a failure that may pass with time raises
        :class:`~chatbotmaker_core.delivery.RepliesPending` instead of being recorded."""
        messenger = self.messengers.get(channel or self.default_channel)
        if messenger is None:
            assert channel is not None
            raise unknown_channel(channel, self.messengers)
        return deliver(
            messenger, self.database, platform_id, replies, self.retry_policy, later=later
        )

    def send_message(
        self,
        user_id: str,
        text: str | Reply,
        *,
        channel: str | None = None,
        tag: str | None = None,
    ) -> None:
        """Send a message outside a turn (a reminder, an operator's answer) to a known user.

        On Meta's platforms a message without ``tag`` may only go within 24 hours of the
        user's last message: outside it this raises
        :class:`~chatbotmaker_core.channels.WindowClosedError` and sends nothing. With a
        ``tag`` (Messenger's message tags) it goes as ``messaging_type`` MESSAGE_TAG. A
        delivery failure raises (a :class:`~chatbotmaker_core.DeliveryError`) after the
        ``[bot] send_*`` retries. ``LookupError`` for a user the channel never saw.
        """
        name = channel or self.default_channel
        messenger = self.messengers.get(name)
        if messenger is None:
            raise unknown_channel(name, self.messengers)
        reply = text if isinstance(text, Reply) else Reply(str(text))
        check_send(self.database, messenger, name, str(user_id), tag)
        if tag is not None:
            reply = replace(reply, tag=tag)
        send_reply_with_retry(messenger, str(user_id), reply, self.retry_policy)


#: seconds past ``[bot] send_deadline`` before a queued turn's staged delivery job may run
FALLBACK_MARGIN = 5.0


def build_bot(
    source: str | Path | Mapping[str, Any],
    plugins: PluginManager | None = None,
    *,
    messenger: Messenger | None = None,
) -> Bot:
    """The bot a config describes; ``messenger``, if given, replaces its ``[messenger]``
    (every ``[messengers.*]`` table: the terminal talks as each channel's users)."""
    parts = build_parts(source, plugins, messenger=messenger)
    bot = Bot(*parts[:4], messengers=parts.messengers)
    bot.channel_urls = parts.channel_urls
    return bot


def turn_outcome(result: TurnResult) -> str:
    """The ``outcome`` label of ``chatbotmaker_turns_total``."""
    return "duplicate" if result.duplicate else "error" if result.error is not None else "ok"


def _bot_options(config: Mapping[str, Any]) -> dict[str, Any]:
    problems = []
    options = {key: default for key, (_, default) in BOT_OPTIONS.items()}
    for key, value in config.items():
        if key not in BOT_OPTIONS:
            hint = did_you_mean(key, BOT_OPTIONS) or f"; known: {', '.join(BOT_OPTIONS)}"
            problems.append(f"[bot] unknown option {key!r}{hint}")
            continue
        expected = BOT_OPTIONS[key][0]
        if not isinstance(value, expected) or isinstance(value, bool):
            problems.append(f"[bot] {key} must be {_type_name(expected)}, got {value!r}")
            continue
        allowed = BOT_RANGES.get(key)
        problem = allowed.problem("bot", key, value) if allowed else None
        if problem:
            problems.append(problem)
            continue
        options[key] = value
    if options["mode"] not in MODES:
        problems.append(f"[bot] mode must be one of {', '.join(MODES)}, got {options['mode']!r}")
    if problems:
        raise ConfigError("; ".join(problems), problems)
    return options


def _type_name(expected: type | tuple[type, ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(
        {"str": "a string", "int": "an integer", "float": "a number"}[t.__name__] for t in types
    )
