"""Queued mode on procrastinate: the webhook acknowledges at once, workers run the turns.

One job per event, locked by the platform user id, so a user's events run one at a time and in
order on any number of workers. A turn defers its replies as a delivery job on its own database
connection, so the state change and the pending replies commit together.

In a worker that job is the fallback, not the rule (``docs/decisions.md``, "Queued mode: speed
and chaos"): it is scheduled ``fallback_after`` seconds ahead, the worker sends the replies itself
once the turn commits, and the statement that ends the worker's batch of jobs marks it succeeded
with the turn's job. Only a worker that dies between the commit and that statement leaves the job
to run, later, on another worker (replies at least once); and a delivery that met a failure that
may pass (the Graph API failing for longer than the send retries) leaves it to run again, with
the replies not sent yet, as often as a job may (``[bot] job_attempts``) before it is parked.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import make_url, text

from ..database import CONNECT_TIMEOUT
from ..delivery import RepliesPending
from ..errors import ConfigError
from ..message import Message, Reply
from ..storable import UnstorableEvent, describe, is_permanent
from . import jobs
from .codec import message_from_job, message_to_job, replies_from_job, replies_to_job
from .logs import hide_job_arguments
from .pools import connection_broke, unchecked_pool

if TYPE_CHECKING:
    from ..database import Database

log = logging.getLogger(__name__)

TURN_TASK = "chatbotmaker.turn"
DELIVER_TASK = "chatbotmaker.deliver"
QUEUE = "chatbotmaker"
DELIVERY_PRIORITY = 10


def _procrastinate() -> Any:
    try:
        import procrastinate
    except ImportError:
        raise ConfigError(
            "[bot] mode = 'queued' needs procrastinate: pip install 'chatbotmaker-core[queue]'"
        ) from None
    return procrastinate


#: what a worker runs for a turn job: ``Bot.handle``
Handle = Callable[[Message], Any]


class Deliver(Protocol):
    """What a worker runs for a delivery job: send ``replies`` to the platform user, in order
    (``Bot.deliver``); ``later=True`` raises :class:`RepliesPending` on a failure that may
    pass with time, for the job to send the rest again."""

    def __call__(
        self,
        platform_id: str,
        replies: list[Reply],
        channel: str | None = None,
        *,
        later: bool = False,
    ) -> int: ...


def conninfo(database: Database) -> str:
    """The libpq connection string of the bot's database (procrastinate's own pool), with a
    connect timeout unless the URL sets one: libpq would otherwise wait for ever on a server
    caught restarting, and with it the pool."""
    url = make_url(database.engine.url).set(drivername="postgresql")
    if "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT)})
    return url.render_as_string(hide_password=False)


class Queue:
    """The queue of one bot: deferring jobs, running them, and procrastinate's schema.

    ``handle`` runs a turn job's message (``Bot.handle``); ``deliver`` sends a delivery job's
    replies. As the bot's :class:`~chatbotmaker_core.turn.ReplySink` it stages a turn's
    replies as a delivery job inside the turn's transaction. The jobs are procrastinate's; the
    statements that make and settle them are ``jobs.py``'s, and the worker is ``worker.py``.
    """

    stages = True
    stages_on_driver = True  # stage() uses only conn.connection.driver_connection

    def __init__(
        self,
        database: Database,
        handle: Handle,
        deliver: Deliver,
        *,
        max_attempts: int = 5,
        retry_wait: int = 2,
        fallback_after: float = 20.0,
    ) -> None:
        procrastinate = _procrastinate()
        hide_job_arguments()
        self.database = database
        self._handle = handle
        self._deliver = deliver
        self.dsn = conninfo(database)
        #: runs of a job before it is parked as failed, and the base of the wait between runs
        #: (``retry_wait ** run`` seconds, procrastinate's exponential wait)
        self.max_attempts = max_attempts
        self.retry_wait = retry_wait
        #: ``chatbotmaker jobs`` and the schema go through procrastinate itself
        self.sync_app = procrastinate.App(
            connector=procrastinate.SyncPsycopgConnector(conninfo=self.dsn, min_size=1)
        )
        # Webhook threads share this pool: several connections, and a wait for one that stays
        # under the 20 s Meta gives the webhook (a 5xx makes Meta deliver again).
        self._pool: Any = None
        #: seconds a worker's own delivery may take before its staged job may run instead
        self.fallback_after = fallback_after
        # the replies a worker's running turn staged: (job id, user, replies), per job thread
        self._local = threading.local()

    # -- the web side ------------------------------------------------------------------------

    def enqueue(self, message: Message) -> int:
        """Defer one job for ``message``; the user's jobs run one at a time, oldest first.

        Raises :class:`~chatbotmaker_core.storable.UnstorableEvent` when PostgreSQL can never
        take the message (its strings are repaired first: ``storable.py``); any other error
        (the database is down) may pass, and the webhook then asks for a redelivery.
        """
        job = message_to_job(message)
        for attempt in (1, 2):
            try:
                return self._defer(TURN_TASK, user_lock(job["user_id"]), message=job)
            except Exception as error:
                if is_permanent(error):
                    raise UnstorableEvent(
                        f"PostgreSQL refused the job: {describe(error)}"
                    ) from error
                if attempt == 2 or not connection_broke(error):
                    raise
                # the pool hands out connections unchecked: one a restart broke is dropped
                log.info("enqueue: a pooled connection was broken; trying another")
        raise AssertionError("unreachable")

    def stage(
        self,
        conn: Any,
        platform_id: str,
        replies: list[Reply],
        channel: str | None = None,
    ) -> None:
        """Defer the delivery of ``replies`` on the turn's own connection and transaction;
        the job names the ``channel`` whose messenger sends them.

        In a worker's turn the job is a fallback, scheduled ``fallback_after`` seconds ahead,
        and the worker delivers after the commit (:meth:`run_job`) — unless the user still
        has a delivery job waiting (a worker died before delivering): then those are made due
        now and this one runs after them, so the user's replies keep their order.
        """
        from psycopg.types.json import Jsonb

        pending = getattr(self._local, "pending", None)
        driver = conn.connection.driver_connection
        assert driver is not None  # a connection in a transaction is live
        row = driver.execute(
            jobs.STAGE,
            {
                "queue": QUEUE,
                "task": DELIVER_TASK,
                # Replies go before turns still waiting, so they do not queue behind the
                # backlog; priorities are compared only within a lock, so reply order holds.
                "priority": DELIVERY_PRIORITY,
                "lock": reply_lock(platform_id),
                "args": Jsonb(
                    {"user_id": platform_id, "replies": replies_to_job(replies), "channel": channel}
                ),
                "fallback": self.fallback_after if pending is not None else None,
            },
        ).fetchone()
        job_id, fallback = row
        if pending is not None and fallback:
            pending.append((job_id, platform_id, replies, channel))

    def _defer(self, task: str, lock: str, **kwargs: Any) -> int:
        """Insert one job due now (``kwargs`` are its arguments) on a pooled connection."""
        from psycopg.types.json import Jsonb

        params = {
            "queue": QUEUE,
            "task": task,
            "priority": 0,
            "lock": lock,
            "args": Jsonb(kwargs),
            "delay": 0.0,
        }
        with self._pooled().connection() as conn:
            return int(conn.execute(jobs.INSERT, params).fetchone()[0])

    def _pooled(self) -> Any:
        """The pool of autocommit connections the webhook defers on, opened on first use."""
        if self._pool is None:
            self._pool = unchecked_pool(self.dsn, max_size=8, timeout=10)
        return self._pool

    # -- the worker side ---------------------------------------------------------------------

    def run_job(self, job_id: int, task: str, args: dict[str, Any]) -> list[int]:
        """Run one job; the fallback delivery jobs whose replies it sent, to be settled."""
        if task == TURN_TASK:
            return self._run_turn(**args)
        if task == DELIVER_TASK:
            self._run_delivery(job_id, **args)
            return []
        raise UnknownTask(f"no task {task!r} in this version of chatbotmaker; known: {TASKS}")

    def _run_turn(self, message: dict[str, Any]) -> list[int]:
        """Run the turn, then deliver the replies it staged.

        Only once ``handle`` returned: its transactions committed. Should it raise, whatever
        it staged and committed stays a (scheduled) delivery job. A delivery stopped by a
        failure that may pass leaves its job to run after ``retry_wait`` seconds, with the
        replies not sent yet, as a delivery job that failed once would; so do the user's later
        jobs of this turn, which must not overtake it."""
        pending: list[tuple[int, str, list[Reply], str | None]] = []
        self._local.pending = pending
        try:
            self._handle(message_from_job(message))
        finally:
            self._local.pending = None
        settled = []
        stopped: set[str] = set()
        for job_id, platform_id, replies, channel in pending:
            if platform_id in stopped:
                self._keep_pending(job_id, replies, self.retry_wait)
                continue
            try:
                self._deliver(platform_id, replies, channel, later=True)
            except RepliesPending as stop:
                stopped.add(platform_id)
                self._keep_pending(job_id, replies[stop.sent :], self.retry_wait)
            else:
                settled.append(job_id)
        return settled

    # ``user_id``: the job's argument name, kept so jobs deferred before an upgrade still run
    # ``channel``: absent from jobs deferred before channels existed (the bot's default)
    def _run_delivery(
        self,
        job_id: int,
        user_id: str,
        replies: list[dict[str, Any]],
        channel: str | None = None,
    ) -> None:
        """Send the job's replies; stopped by a failure that may pass, the job keeps those not
        sent yet and raises, to be retried (parked as failed after its attempts)."""
        sending = replies_from_job(replies)
        try:
            self._deliver(user_id, sending, channel, later=True)
        except RepliesPending as stop:
            if stop.sent:
                self._keep_pending(job_id, sending[stop.sent :], 0.0)
            raise

    def _keep_pending(self, job_id: int, replies: list[Reply], delay: float) -> None:
        """Leave ``replies`` in delivery job ``job_id`` (``jobs.KEEP_PENDING``). Should the
        database refuse, the job keeps all its replies and its time: sent again, not lost."""
        from psycopg.types.json import Jsonb

        params = {"id": job_id, "replies": Jsonb(replies_to_job(replies)), "delay": delay}
        try:
            with self._pooled().connection() as conn:
                conn.execute(jobs.KEEP_PENDING, params)
        except Exception as error:  # noqa: BLE001 - the job still holds every reply
            log.warning(
                "delivery job %d keeps all its replies (%s): some may go out twice",
                job_id,
                describe(error),
            )

    def apply_schema(self) -> bool:
        """Create procrastinate's tables unless they exist; True when it created them."""
        with self.database.schema_transaction() as conn:  # serve and workers start together
            exists = conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar()
            if exists:
                return False
            # Straight to psycopg, without parameters: the schema's SQL contains '%' signs.
            driver = conn.connection.driver_connection
            assert driver is not None  # a connection in a transaction is live
            driver.execute(self.sync_app.schema_manager.get_schema())
        log.warning("applied procrastinate's schema to %s", self.database.url)
        return True

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


class UnknownTask(Exception):
    """A job of a task this version does not run (a newer release deferred it)."""


TASKS = ", ".join((TURN_TASK, DELIVER_TASK))


def user_lock(platform_id: str) -> str:
    """The lock of a user's turn jobs: one at a time, oldest first."""
    return f"chatbotmaker:user:{platform_id}"


def reply_lock(platform_id: str) -> str:
    """The lock of a user's delivery jobs, apart from turns so replies need not wait for them."""
    return f"chatbotmaker:reply:{platform_id}"
