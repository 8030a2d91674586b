"""The ``Bot``: messenger, dispatcher and database wired together, one turn per message."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

from .config import build_parts
from .database import Database
from .delivery import RetryPolicy, deliver, turn_deadline
from .dispatcher import Dispatcher
from .errors import ConfigError, UnknownStateError, did_you_mean
from .message import Message, Reply
from .messenger import Messenger
from .metrics import observe_turn
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
    """

    def __init__(
        self,
        config: Mapping[str, Any] | None,
        messenger: Messenger,
        dispatcher: Dispatcher,
        database: Database,
    ) -> None:
        self.config = dict(config or {})
        self.messenger = messenger
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
        return cls(*build_parts(source, plugins))

    def receive(self, message: Message) -> TurnResult | None:
        """What a webhook calls for each event: handle it now (``inline``), or enqueue it
        (``queued``) for a worker and return ``None``."""
        if self.queue is not None:
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
        started = perf_counter()
        with turn_deadline(self.retry_policy):
            result = self._handle(message)
        observe_turn(turn_outcome(result), perf_counter() - started)  # metrics.py; off: no-op
        return result

    def _handle(self, message: Message) -> TurnResult:
        """The messenger's ``turn_started`` (not for a redelivered id), one atomic turn, then
        its replies in order."""
        result = TurnResult(message)
        turn = Turn(
            message,
            database=self.database,
            dispatcher=self.dispatcher,
            messenger=self.messenger,
            initial_state=self.initial_state,
            sink=self._sink,
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
            result.sent = self.deliver(message.user_id, result.replies)
        return result

    def deliver(self, platform_id: str, replies: list[Reply]) -> int:
        """Send ``replies`` to ``platform_id`` in order, retrying within ``[bot] send_*``;
        returns how many were sent (a failure is logged and recorded, never raised)."""
        return deliver(self.messenger, self.database, platform_id, replies, self.retry_policy)


#: seconds past ``[bot] send_deadline`` before a queued turn's staged delivery job may run
FALLBACK_MARGIN = 5.0


def build_bot(
    source: str | Path | Mapping[str, Any],
    plugins: PluginManager | None = None,
    *,
    messenger: Messenger | None = None,
) -> Bot:
    """The bot a config describes; ``messenger``, if given, replaces its ``[messenger]``."""
    return Bot(*build_parts(source, plugins, messenger=messenger))


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
