"""Delivering a turn's replies after it commits: in order, retrying what may pass next time.

The messenger renders each reply into platform payloads (``Messenger.render``: a long text may
be several messages); the retry is per payload, where the transport sends, so a split reply
resumes at the part that failed, inline and in a queued delivery job alike.

A permanent failure (or a transient one that outlasts the retry budget) stops delivery of that
turn's remaining replies, so the user never receives them out of order, and is logged here,
once, and recorded in ``chatbotmaker_delivery_failures``. A queued delivery asks for
``later=True``: a failure that may pass with time (a 5xx, a timeout, the deadline) then raises
:class:`RepliesPending` instead, and its delivery job sends the rest again later.

The send deadline is the turn's, not a reply's: :func:`turn_deadline` fixes the moment by which
every Send API call of the turn (typing indicator, every reply, every retry) must be over, and
:func:`time_left` lets a messenger cut its request timeout to what is left. Meta waits 20 s for
an inline webhook's answer, whatever the platform's API does meanwhile.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from contextlib import nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import DeliveryError
from .message import Reply
from .metrics import observe_replies

if TYPE_CHECKING:
    from .database import Database
    from .messenger import Messenger

log = logging.getLogger(__name__)

#: the running turn's send deadline, as a ``time.monotonic()`` value (None outside a turn)
_DEADLINE: ContextVar[float | None] = ContextVar("chatbotmaker_send_deadline", default=None)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped in attempts and in total time."""

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 8.0
    # Per turn, under the 20 s Meta waits for a webhook's 200 in inline mode.
    deadline: float = 15.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The pause before the next attempt. A platform's ``Retry-After`` is obeyed as is:
        when it lies beyond the deadline, the send gives up rather than retrying too early."""
        if retry_after is not None:
            return retry_after
        return random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))


class SendDeadlineExceeded(DeliveryError):
    """The turn's send deadline passed before its replies were all sent (code ``deadline``)."""

    def __init__(self, deadline: float, last: BaseException | None = None) -> None:
        detail = f"; last attempt: {last}" if last is not None else ""
        super().__init__(
            f"send deadline of {deadline:g} s for the turn passed{detail}",
            transient=False,
            code="deadline",
        )


class turn_deadline:  # noqa: N801 - used as a function: ``with turn_deadline(policy):``
    """Start the turn's send deadline, ``policy.deadline`` seconds from now (or keep an
    earlier one already running, so a deadline only ever shrinks); ``as`` gives it.

    A class rather than a ``@contextmanager`` generator: a turn enters it once per reply
    and per payload too, and a generator costs several times as much to enter and leave.
    """

    __slots__ = ("_deadline", "_token")

    def __init__(self, policy: RetryPolicy) -> None:
        deadline = time.monotonic() + policy.deadline
        outer = _DEADLINE.get()
        self._deadline = outer if outer is not None and outer < deadline else deadline

    def __enter__(self) -> float:
        self._token = _DEADLINE.set(self._deadline)
        return self._deadline

    def __exit__(self, *exc_info: object) -> None:
        _DEADLINE.reset(self._token)


def time_left() -> float | None:
    """Seconds until the running turn's send deadline (0 once past), or None outside a turn.

    A messenger bounds each request's timeout with it: an attempt started with ``t`` seconds
    left must not wait on the platform for longer than ``t``.
    """
    deadline = _DEADLINE.get()
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _running(policy: RetryPolicy) -> float | None:
    """The running deadline when it is the one ``turn_deadline(policy)`` would keep (no later
    than a new one): a reply or payload inside a turn then needs no scope of its own."""
    deadline = _DEADLINE.get()
    if deadline is not None and deadline <= time.monotonic() + policy.deadline:
        return deadline
    return None


class RepliesPending(Exception):
    """:func:`deliver` with ``later=True`` stopped at a failure that may pass with time: the
    first ``sent`` replies went out, the others are the caller's to send again (a queued
    delivery job, retried). Nothing was recorded as a delivery failure."""

    def __init__(self, sent: int, error: BaseException) -> None:
        super().__init__(f"{sent} sent, then: {error}")
        self.sent = sent
        self.error = error


def passes_with_time(error: BaseException) -> bool:
    """Whether sending again later may succeed: a transient failure, or the send deadline
    (the platform was slow, not refusing)."""
    return isinstance(error, DeliveryError) and (error.transient or error.code == "deadline")


def send_with_retry(
    messenger: Messenger, platform_id: str, payload: Any, policy: RetryPolicy
) -> None:
    """Send one payload of ``messenger.render``, retrying transient :class:`DeliveryError`
    within ``policy`` and the turn's deadline (:func:`turn_deadline`; one starts here when
    none is running)."""
    deadline = _running(policy)
    if deadline is not None:
        _send_payload(messenger, platform_id, payload, policy, deadline)
        return
    with turn_deadline(policy) as deadline:
        _send_payload(messenger, platform_id, payload, policy, deadline)


def _send_payload(
    messenger: Messenger, platform_id: str, payload: Any, policy: RetryPolicy, deadline: float
) -> None:
    for attempt in range(policy.attempts):
        if time.monotonic() >= deadline:
            raise SendDeadlineExceeded(policy.deadline)
        try:
            messenger.send_payload(platform_id, payload)
            return
        except DeliveryError as error:
            if not error.transient or attempt + 1 == policy.attempts:
                raise
            pause = policy.delay(attempt, error.retry_after)
            if time.monotonic() + pause >= deadline:
                raise SendDeadlineExceeded(policy.deadline, error) from None
            log.info(
                "send to %s failed (%s); retry %d in %.2fs",
                platform_id,
                error,
                attempt + 1,
                pause,
            )
            time.sleep(pause)


def send_reply_with_retry(
    messenger: Messenger, platform_id: str, reply: Reply, policy: RetryPolicy
) -> None:
    """Render ``reply`` and send its payloads in order, each retried on its own."""
    scope = nullcontext() if _running(policy) is not None else turn_deadline(policy)
    with scope:
        for payload in messenger.render(platform_id, reply):
            send_with_retry(messenger, platform_id, payload, policy)


def deliver(
    messenger: Messenger,
    database: Database,
    platform_id: str,
    replies: Sequence[Reply],
    policy: RetryPolicy,
    *,
    later: bool = False,
) -> int:
    """Send ``replies`` in order, all within one send deadline; returns how many were sent.

    Once the deadline has passed, the replies left are not attempted: they are recorded as
    failed (``code = 'deadline'``) like those after a permanent failure. A reply half sent
    (the first parts of a long text) is recorded as failed whole. With ``later``, a failure
    that :func:`passes_with_time` raises :class:`RepliesPending` instead of being recorded.
    """
    with turn_deadline(policy):
        for index, reply in enumerate(replies):
            try:
                send_reply_with_retry(messenger, platform_id, reply, policy)
            except Exception as error:  # noqa: BLE001 - every failure is logged and recorded
                left = len(replies) - index
                unsent = f"{left} repl{'y' if left == 1 else 'ies'}"
                if later and passes_with_time(error):
                    log.warning(
                        "could not deliver %s to user %s yet: %s; its delivery job tries again",
                        unsent,
                        platform_id,
                        error,
                    )
                    observe_replies(index, 0)
                    raise RepliesPending(index, error) from error
                code = getattr(error, "code", None)
                log.error(
                    "could not deliver %s to user %s: %s",
                    unsent,
                    platform_id,
                    error,
                    exc_info=not isinstance(error, DeliveryError),
                )
                record_failures(database, platform_id, replies[index:], error, code)
                observe_replies(index, left)
                return index
    observe_replies(len(replies), 0)
    return len(replies)


def record_failures(
    database: Database,
    platform_id: str,
    replies: Sequence[Reply],
    error: BaseException,
    code: object = None,
) -> None:
    from sqlalchemy import insert  # here: messengers import time_left without SQLAlchemy

    table = database.models.DeliveryFailure.__table__
    rows = [
        {
            "user_id": platform_id,  # the column: the platform's id, as elsewhere
            "text": reply.text,
            "error": f"{type(error).__name__}: {error}",
            "code": None if code is None else str(code),
        }
        for reply in replies
    ]
    try:
        with database.engine.begin() as conn:
            conn.execute(insert(table), rows)
    except Exception:  # noqa: BLE001 - the log line above already has the failure
        log.exception("could not record delivery failure for user %s", platform_id)
