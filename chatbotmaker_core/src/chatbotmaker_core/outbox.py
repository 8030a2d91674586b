"""Delivering a turn's replies after it commits: in order, retrying what may pass next time.

A permanent failure (or a transient one that outlasts the retry budget) stops delivery of that
turn's remaining replies, so the user never receives them out of order, and is logged and
recorded in ``chatbotmaker_delivery_failures``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import insert

from .errors import DeliveryError
from .message import Reply

if TYPE_CHECKING:
    from .database import Database
    from .messenger import Messenger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped in attempts and in total time."""

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 8.0
    # Under the 20 s Meta waits for a webhook's 200 in inline mode.
    deadline: float = 15.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The pause before the next attempt. A platform's ``Retry-After`` is obeyed as is:
        when it lies beyond the deadline, the send gives up rather than retrying too early."""
        if retry_after is not None:
            return retry_after
        return random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))


def send_with_retry(messenger: Messenger, user_id: str, reply: Reply, policy: RetryPolicy) -> None:
    """Send one reply, retrying transient :class:`DeliveryError` within ``policy``."""
    started = time.monotonic()
    for attempt in range(policy.attempts):
        try:
            messenger.send_reply(user_id, reply)
            return
        except DeliveryError as error:
            if not error.transient or attempt + 1 == policy.attempts:
                raise
            pause = policy.delay(attempt, error.retry_after)
            if time.monotonic() - started + pause > policy.deadline:
                raise
            log.info(
                "send to %s failed (%s); retry %d in %.2fs", user_id, error, attempt + 1, pause
            )
            time.sleep(pause)


def deliver(
    messenger: Messenger,
    database: Database,
    user_id: str,
    replies: Sequence[Reply],
    policy: RetryPolicy,
) -> int:
    """Send ``replies`` in order; returns how many were sent."""
    for index, reply in enumerate(replies):
        try:
            send_with_retry(messenger, user_id, reply, policy)
        except Exception as error:  # noqa: BLE001 - every failure is logged and recorded
            code = getattr(error, "code", None)
            log.error(
                "could not deliver %d repl%s to user %s: %s",
                len(replies) - index,
                "y" if len(replies) - index == 1 else "ies",
                user_id,
                error,
                exc_info=not isinstance(error, DeliveryError),
            )
            record_failures(database, user_id, replies[index:], error, code)
            return index
    return len(replies)


def record_failures(
    database: Database,
    user_id: str,
    replies: Sequence[Reply],
    error: BaseException,
    code: object = None,
) -> None:
    table = database.models.DeliveryFailure.__table__
    rows = [
        {
            "user_id": user_id,
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
        log.exception("could not record delivery failure for user %s", user_id)
