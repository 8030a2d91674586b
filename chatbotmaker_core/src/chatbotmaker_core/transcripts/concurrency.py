"""The guarantees of DESIGN §7 checked on a user's own rules: several messages of one user
delivered at once from threads are each handled exactly once, their turns never interleave,
and the replies arrive in the order the turns committed."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..bot import TurnResult
from ..message import Message
from .trace import Trace, TracingDispatcher

if TYPE_CHECKING:
    from ..testing import BotHarness


def deliver_concurrently(
    harness: BotHarness, messages: Sequence[Message], timeout: float = 60.0
) -> list[TurnResult]:
    """Hand ``messages`` to the harness's bot from one thread each, released together by a
    barrier; asserts the guarantees, returns the results in the order of ``messages``."""
    bot = harness.bot
    trace = Trace()
    original = bot.dispatcher
    bot.dispatcher = TracingDispatcher(original, trace)
    before = len(harness.messenger.replies)
    barrier = threading.Barrier(len(messages))
    results: list[TurnResult | None] = [None] * len(messages)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout)
            results[index] = bot.handle(messages[index])
        except BaseException as error:  # noqa: BLE001 - reported by the caller's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(messages))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
    finally:
        bot.dispatcher = original
    if errors:
        raise AssertionError(f"a concurrent delivery raised {errors[0]!r}") from errors[0]
    done = [r for r in results if r is not None]
    check_guarantees(messages, done, trace, harness.messenger.replies[before:])
    return done


def check_guarantees(
    messages: Sequence[Message], results: Sequence[TurnResult], trace: Trace, sent: list
) -> None:
    """Raise AssertionError naming the guarantee that did not hold."""
    failed = [r for r in results if r.error is not None]
    if failed:
        error = failed[0].error
        raise AssertionError(
            f"a handler failed on {failed[0].message.text!r}: {type(error).__name__}: {error}"
        ) from error
    ids = list(dict.fromkeys(m.message_id for m in messages))
    handled = Counter(r.message.message_id for r in results if r.handled)
    wrong = {mid: handled[mid] for mid in ids if handled[mid] != 1}
    if wrong:
        raise AssertionError(f"each message must be handled exactly once; handled counts: {wrong}")
    funcs = Counter(mid for mid, _, _, name in trace.events if name == "func")
    again = {mid: n for mid, n in funcs.items() if n != 1}
    if again:
        raise AssertionError(f"a message's func ran more than once: {again}")
    order: list[str | None] = []  # message ids in the order their turns ran
    for mid, _, _, _ in trace.events:
        if not order or order[-1] != mid:
            if mid in order:
                raise AssertionError(
                    f"the turns of one user interleaved: message {mid!r} ran handlers again "
                    f"after another message's (order of handler calls: "
                    f"{[e[0] for e in trace.events]})"
                )
            order.append(mid)
    by_id = {r.message.message_id: r for r in results if r.handled}
    expected = [
        (by_id[mid].message.user_id, reply) for mid in order for reply in by_id[mid].replies
    ]
    if list(sent) != expected:
        raise AssertionError(
            "replies must arrive in the order the turns committed: expected "
            f"{[r.text for _, r in expected]}, got {[r.text for _, r in sent]}"
        )
