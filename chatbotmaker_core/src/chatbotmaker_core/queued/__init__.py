"""Queued mode on procrastinate: the webhook acknowledges at once, workers run the turns.

One job per event, locked by the platform user id, so a user's events run one at a time and in
order on any number of workers. A turn defers its replies as a delivery job on its own database
connection, so the state change and the pending replies commit together.

In a worker that job is the fallback, not the rule (``docs/decisions.md``, "Queued mode: speed
and chaos"): it is scheduled ``fallback_after`` seconds ahead, the worker sends the replies itself
once the turn commits and then marks the job succeeded in one statement. Only a worker that dies
between the commit and that statement leaves the job to run, later, on another worker (replies
at least once). A second job per event cost as much worker time as the turn itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, make_url, text

from ..database import CONNECT_TIMEOUT
from ..errors import ConfigError
from ..message import Message, Reply
from ..storable import UnstorableEvent, describe, is_permanent
from .codec import message_from_job, message_to_job, replies_from_job, replies_to_job
from .logs import hide_job_arguments
from .pools import connection_broke, pool_without_check, unchecked_sync_connector

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
#: what a worker runs for a delivery job: send ``replies`` to the platform user, in order
Deliver = Callable[[str, list[Reply], "str | None"], Any]


def conninfo(database: Database) -> str:
    """The libpq connection string of the bot's database (procrastinate's own pool), with a
    connect timeout unless the URL sets one: libpq would otherwise wait for ever on a server
    caught restarting, and with it the pool."""
    url = make_url(database.engine.url).set(drivername="postgresql")
    if "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT)})
    return url.render_as_string(hide_password=False)


class Queue:
    """The procrastinate app of one bot: its two tasks, deferring, and the worker.

    ``handle`` runs a turn job's message (``Bot.handle``); ``deliver`` sends a delivery job's
    replies. As the bot's :class:`~chatbotmaker_core.turn.ReplySink` it stages a turn's
    replies as a delivery job inside the turn's transaction.
    """

    stages = True

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
        dsn = self._dsn = conninfo(database)
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=dsn, min_size=1, pool_factory=pool_without_check
            )
        )
        # A job that raises (the database went away, a poison event) is retried with
        # exponential backoff, then left as a failed job for `chatbotmaker jobs`.
        retry = procrastinate.RetryStrategy(
            # procrastinate counts retries after the first run; we count runs.
            max_attempts=max(max_attempts - 1, 0),
            exponential_wait=retry_wait,
        )
        self.turn_task = self.app.task(name=TURN_TASK, queue=QUEUE, retry=retry)(self._run_turn)
        self.deliver_task = self.app.task(name=DELIVER_TASK, queue=QUEUE, retry=retry)(
            self._run_delivery
        )
        # Deferring from synchronous code (webhook requests, the turn's transaction) goes
        # through an app on a synchronous connector; the worker uses the asynchronous one.
        self.sync_app = procrastinate.App(
            # Webhook threads share this pool: several connections, and a wait for one that
            # stays under the 20 s Meta gives the webhook (a 5xx makes Meta deliver again).
            connector=unchecked_sync_connector(procrastinate)(
                conninfo=dsn, min_size=1, max_size=8, timeout=10
            )
        )
        self._sync_open = False
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
        self._open_sync()
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
        conn: Connection,
        platform_id: str,
        replies: list[Reply],
        channel: str | None = None,
    ) -> None:
        """Defer the delivery of ``replies`` on the turn's own connection and transaction;
        the job names the ``channel`` whose messenger sends them.

        In a worker's turn the job is a fallback, scheduled ``fallback_after`` seconds ahead,
        and the worker delivers after the commit (:meth:`_run_turn`) — unless the user still
        has a delivery job waiting (a worker died before delivering): then those are made due
        now and this one runs after them, so the user's replies keep their order.
        """
        driver = conn.connection.driver_connection
        pending = getattr(self._local, "pending", None)
        direct = pending is not None and not _hurry_waiting_deliveries(driver, platform_id)
        job_id = self._defer(
            DELIVER_TASK,
            reply_lock(platform_id),
            # Replies go before turns still waiting, so they do not queue behind the backlog;
            # procrastinate compares priorities only within a lock, so reply order holds.
            priority=DELIVERY_PRIORITY,
            connection=driver,
            schedule_in={"seconds": self.fallback_after} if direct else None,
            user_id=platform_id,
            replies=replies_to_job(replies),
            channel=channel,
        )
        if pending is not None and direct:
            pending.append((job_id, platform_id, replies, channel))

    def _defer(
        self,
        task: str,
        lock: str,
        priority: int = 0,
        connection: Any = None,
        schedule_in: Any = None,  # procrastinate's TimeDeltaParams
        **kwargs: Any,
    ) -> int:
        from procrastinate.tasks import configure_task

        deferrer = configure_task(
            name=task,
            job_manager=self.sync_app.job_manager,
            queue=QUEUE,
            lock=lock,
            priority=priority,
            connection=connection,
            schedule_in=schedule_in,
        )
        return deferrer.defer(**kwargs)

    def _open_sync(self) -> None:
        if not self._sync_open:
            self.sync_app.open()
            self._sync_open = True

    # -- the worker side ---------------------------------------------------------------------

    def _run_turn(self, message: dict[str, Any]) -> None:
        """Run the turn, then deliver the replies it staged and settle their fallback jobs.

        Only once ``handle`` returned: its transactions committed. Should it raise, whatever
        it staged and committed stays a (scheduled) delivery job."""
        pending: list[tuple[int, str, list[Reply], str | None]] = []
        self._local.pending = pending
        try:
            self._handle(message_from_job(message))
        finally:
            self._local.pending = None
        for job_id, platform_id, replies, channel in pending:
            self._deliver(platform_id, replies, channel)
            self._settle(job_id)

    def _settle(self, job_id: int) -> None:
        """Mark a fallback delivery job succeeded: its replies went out. A job some worker
        already took (``fallback_after`` passed) is left alone: the user gets them twice.

        One autocommit round trip on a connection of this job thread's own: through the
        engine's pool it cost a ping, the statement and a commit, as much as the delivery.
        A connection a restart broke is replaced once before giving up."""
        for attempt in (1, 2):
            conn = getattr(self._local, "settle_conn", None)
            try:
                if conn is None or conn.closed:
                    import psycopg

                    conn = self._local.settle_conn = psycopg.connect(self._dsn, autocommit=True)
                conn.execute(SETTLE, {"id": job_id})
                return
            except Exception as error:  # noqa: BLE001 - the replies went out; see below
                self._local.settle_conn = None
                if conn is not None:
                    conn.close()
                if attempt == 2:
                    log.warning(
                        "could not settle delivery job %s (%s); it will deliver its replies again",
                        job_id,
                        error,
                    )

    # ``user_id``: the job's argument name, kept so jobs deferred before an upgrade still run
    # ``channel``: absent from jobs deferred before channels existed (the bot's default)
    def _run_delivery(
        self, user_id: str, replies: list[dict[str, Any]], channel: str | None = None
    ) -> None:
        self._deliver(user_id, replies_from_job(replies), channel)

    def apply_schema(self) -> bool:
        """Create procrastinate's tables unless they exist; True when it created them."""
        with self.database.schema_transaction() as conn:  # serve and workers start together
            exists = conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar()
            if exists:
                return False
            # Straight to psycopg, without parameters: the schema's SQL contains '%' signs.
            driver = conn.connection.driver_connection
            assert driver is not None  # a connection in a transaction is live
            driver.execute(self.app.schema_manager.get_schema())
        log.warning("applied procrastinate's schema to %s", self.database.url)
        return True

    def close(self) -> None:
        if self._sync_open:
            self.sync_app.close()
            self._sync_open = False


#: a delivered fallback job ends as if it had run: succeeded, one attempt
SETTLE = (
    "UPDATE procrastinate_jobs SET status = 'succeeded', attempts = attempts + 1 "
    "WHERE id = %(id)s AND status = 'todo'"
)


def _hurry_waiting_deliveries(driver: Any, platform_id: str) -> bool:
    """Whether the user has delivery jobs not yet done (one statement, in the turn): the
    fallbacks of a worker that died are then made due now, ahead of this turn's replies."""
    row = driver.execute(
        "WITH due AS (UPDATE procrastinate_jobs SET scheduled_at = now() "
        "WHERE lock = %(lock)s AND status = 'todo' AND scheduled_at > now() RETURNING id) "
        "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs "
        "WHERE lock = %(lock)s AND status IN ('todo', 'doing')) OR EXISTS (SELECT 1 FROM due)",
        {"lock": reply_lock(platform_id)},
    ).fetchone()
    return bool(row[0])


def user_lock(platform_id: str) -> str:
    """The lock of a user's turn jobs: one at a time, oldest first."""
    return f"chatbotmaker:user:{platform_id}"


def reply_lock(platform_id: str) -> str:
    """The lock of a user's delivery jobs, apart from turns so replies need not wait for them."""
    return f"chatbotmaker:reply:{platform_id}"
