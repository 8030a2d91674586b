"""DESIGN §7 across real processes: a turn is atomic, per user, on SQLite and PostgreSQL.

Six worker processes (``spawn``) are started once for the module and reused: each test sends
every worker a job (a list of messages to hand to its own ``Bot``), and a shared barrier
releases them together. Handlers record what they did twice: in the user's arguments, which
commit with the turn, and in an append-only log file, which also shows runs that were rolled
back and when each handler started and ended.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from chatbotmaker_core import Bot, Database, Dispatcher, Message, Messenger

WORKERS = 6
TIMEOUT = 60.0  # seconds: the most a barrier or one job may wait
ERROR_REPLY = "ERROR-REPLY"

# --- what runs in the worker processes ------------------------------------------------------


class ListMessenger(Messenger):
    """Keeps what the bot sends, for the worker's report."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, user_id: str, text: str) -> None:
        self.sent.append((user_id, text))


def _log(path: str, *fields: object) -> None:
    """Append one line to ``path``; one ``write`` on an O_APPEND file is atomic across processes."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (" ".join(map(str, fields)) + "\n").encode())
    finally:
        os.close(fd)


def _rules(log_path: str, pause: float) -> dict[str, Any]:
    def pre_func(user: Any) -> None:
        _log(log_path, "pre", user.fb_id, user.message.text, os.getpid())
        user.store_argument("pre_runs", user.get_argument("pre_runs", 0) + 1)

    def on_message(user: Any, user_input: str) -> None:
        started = time.monotonic_ns()
        count = user.get_argument("count", 0)
        if pause:
            time.sleep(pause)  # a read-modify-write that another turn could interleave with
        user.store_argument("count", count + 1)
        key = user_input  # the message id, also when the message was sent without one
        user.store_argument("seen", [*user.get_argument("seen", []), key])
        user.send_message(f"got {key}")
        _log(log_path, "func", user.fb_id, key, os.getpid(), started, time.monotonic_ns())

    return {"actions": {"welcome": {"func": on_message, "pre_func": pre_func}}}


def _send(
    barrier: Any,
    url: str,
    messages: list[tuple[str, str]],
    log_path: str,
    pause: float = 0.0,
    lockstep: bool = False,
    with_ids: bool = True,
) -> dict[str, Any]:
    """Hand ``(user_id, message_id)`` pairs to a bot, in order, once every worker is ready.

    The message's text is its id too. Without ``with_ids`` the messages carry no id (as from
    ``Bot.user_handle``), so nothing is deduplicated. With ``lockstep`` every message waits
    for the barrier first, so each one races the same-position message of every other worker.
    """
    database = Database(url)
    messenger = ListMessenger()
    bot = Bot(
        {"error_message": ERROR_REPLY}, messenger, Dispatcher(_rules(log_path, pause)), database
    )
    report: dict[str, Any] = {"handled": [], "duplicate": [], "errors": []}
    try:
        with database.engine.connect():
            pass  # connected before the start, so the first turns race for real
        barrier.wait(TIMEOUT)
        for user_id, message_id in messages:
            if lockstep:
                barrier.wait(TIMEOUT)
            try:
                result = bot.handle(
                    Message(
                        user_id=user_id,
                        text=message_id,
                        message_id=message_id if with_ids else None,
                    )
                )
            except Exception as error:  # noqa: BLE001 - reported; the test asserts there is none
                report["errors"].append(f"{message_id}: {error!r}")
                continue
            if result.error is not None:
                report["errors"].append(f"{message_id}: handler failed: {result.error!r}")
            if result.handled:
                report["handled"].append(message_id)
            if result.duplicate:
                report["duplicate"].append(message_id)
    finally:
        database.dispose()
    report["sent"] = messenger.sent
    return report


def _idle(barrier: Any) -> None:
    barrier.wait(TIMEOUT)


JOBS = {"send": _send, "idle": _idle}


def _worker_main(conn: Any, barrier: Any) -> None:
    """A worker's loop: run ``(job name, kwargs)`` from ``conn`` until it sends ``None``."""
    while True:
        job = conn.recv()
        if job is None:
            conn.close()
            # Nothing left to clean up (each job disposes its engine); skip the interpreter's
            # teardown of every imported module, which costs about a second per worker.
            os._exit(0)
        name, kwargs = job
        try:
            conn.send(("ok", JOBS[name](barrier, **kwargs)))
        except BaseException:  # noqa: BLE001 - sent to the parent, which fails the test
            barrier.abort()  # the other workers stop waiting for this one
            conn.send(("failed", traceback.format_exc()))


# --- the parent's side ----------------------------------------------------------------------


class WorkerPool:
    """``count`` spawned processes, each running :func:`_worker_main`, sharing one barrier."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.processes: list[Any] = []
        self.pipes: list[Any] = []
        self._start()

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.barrier = context.Barrier(self.count)
        for index in range(self.count):
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=_worker_main,
                args=(child_end, self.barrier),
                name=f"turn-worker-{index}",
                daemon=True,
            )
            process.start()
            child_end.close()
            self.processes.append(process)
            self.pipes.append(parent_end)

    def run(self, jobs: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        """Run one job per worker (``idle`` for the rest); their results, in worker order."""
        assert len(jobs) <= self.count
        jobs = jobs + [("idle", {})] * (self.count - len(jobs))
        for pipe, job in zip(self.pipes, jobs, strict=True):
            pipe.send(job)
        deadline = time.monotonic() + 2 * TIMEOUT
        replies = []
        for index, pipe in enumerate(self.pipes):
            try:
                if not pipe.poll(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(f"no answer in {2 * TIMEOUT:.0f}s")
                replies.append(pipe.recv())
            except (EOFError, OSError) as error:  # hung or died: start afresh for the next test
                self.close()
                self._start()
                pytest.fail(f"worker {index} is gone: {error!r}", pytrace=False)
        failures = [value for status, value in replies if status != "ok"]
        if failures:
            self.barrier.reset()  # every worker has answered; make the barrier usable again
            pytest.fail("a worker failed:\n" + "\n".join(failures), pytrace=False)
        return [value for _, value in replies]

    def close(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + 10
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)
        for pipe in self.pipes:
            pipe.close()
        self.processes, self.pipes = [], []


@pytest.fixture(scope="module")
def workers() -> Iterator[WorkerPool]:
    """The module's worker processes, each past its imports (an idle round waited for them)."""
    pool = WorkerPool(WORKERS)
    pool.run([])
    yield pool
    pool.close()


@pytest.fixture
def fresh_db(db_url: str) -> str:
    """``db_url`` with the tables created by the parent, before any worker connects."""
    Database(db_url).dispose()
    return db_url


@pytest.fixture
def log_path(tmp_path: Path) -> str:
    return str(tmp_path / "handlers.log")


def send_jobs(
    url: str, log_path: str, plans: list[list[tuple[str, str]]], **options: Any
) -> list[tuple[str, dict[str, Any]]]:
    """One ``send`` job per plan, a plan being the ``(user_id, message_id)`` pairs to send."""
    return [
        ("send", {"url": url, "messages": plan, "log_path": log_path, **options}) for plan in plans
    ]


def read_log(log_path: str) -> list[list[str]]:
    path = Path(log_path)
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def check_reports(reports: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """No errors, one reply per handled message and none else; all handled and duplicate ids."""
    handled: list[str] = []
    duplicate: list[str] = []
    for report in reports:
        assert report["errors"] == []
        assert [text for _, text in report["sent"]] == [f"got {m}" for m in report["handled"]]
        handled += report["handled"]
        duplicate += report["duplicate"]
    return handled, duplicate


class Snapshot:
    """What the database holds after a test: users and their arguments."""

    def __init__(self, url: str) -> None:
        database = Database(url)
        try:
            users = database.user_class.__table__
            with database.engine.connect() as conn:
                rows = conn.execute(
                    select(users.c.fb_id, func.count()).group_by(users.c.fb_id)
                ).all()
                handled_table = database.models.HandledMessage.__table__
                self.handled_ids = list(conn.scalars(select(handled_table.c.message_id)))
            self.user_rows = {fb_id: n for fb_id, n in rows}
            self.arguments = {fb_id: database.get_arguments(fb_id) for fb_id in self.user_rows}
        finally:
            database.dispose()


def assert_no_overlap(log: list[list[str]], user_id: str) -> None:
    """The ``func`` runs of ``user_id`` happened one after the other, never at once."""
    spans = sorted((int(f[4]), int(f[5]), f[2]) for f in log if f[0] == "func" and f[1] == user_id)
    for (_, end, first), (start, _, second) in pairwise(spans):
        assert start >= end, f"turns {first} and {second} of {user_id} overlapped"


# --- the tests ------------------------------------------------------------------------------


def test_every_distinct_message_is_handled_exactly_once(workers, fresh_db, log_path):
    """6 processes x 4 users; unique ids, and shared ids delivered to several processes."""
    rng = random.Random(7)
    users = [f"user-{n}" for n in range(4)]
    rounds = 6
    plans: list[list[tuple[str, str]]] = [[] for _ in range(WORKERS)]
    expected: dict[str, set[str]] = defaultdict(set)
    deliveries = 0
    for r in range(rounds):
        batch: list[list[tuple[str, str]]] = [[] for _ in range(WORKERS)]
        for u, user in enumerate(users):
            shared = f"{user}-shared-{r}"
            # round 0 delivers every shared id to all six workers; later rounds to 2..6 of them
            size = WORKERS if r == 0 else rng.randint(2, WORKERS)
            for w in rng.sample(range(WORKERS), size):
                batch[w].append((user, shared))
            expected[user].add(shared)
            for w in range(WORKERS):
                unique = f"{user}-w{w}-r{r}-{u}"
                batch[w].append((user, unique))
                expected[user].add(unique)
        for w in range(WORKERS):
            # same round in every worker, so a shared id is tried by several at about one time
            rng.shuffle(batch[w])
            plans[w] += batch[w]
            deliveries += len(batch[w])

    reports = workers.run(send_jobs(fresh_db, log_path, plans))

    distinct = set().union(*expected.values())
    handled, duplicate = check_reports(reports)
    assert len(handled) + len(duplicate) == deliveries
    assert Counter(handled) == Counter(distinct)  # each id handled once, by one process
    assert len(duplicate) == deliveries - len(distinct)
    runs = Counter(f[2] for f in read_log(log_path) if f[0] == "func")
    assert runs == Counter(distinct)  # and its handler ran once: nothing rolled back, retried
    snapshot = Snapshot(fresh_db)
    assert snapshot.user_rows == dict.fromkeys(users, 1)
    assert sorted(snapshot.handled_ids) == sorted(distinct)
    for user in users:
        arguments = snapshot.arguments[user]
        assert arguments["count"] == len(expected[user])
        seen = arguments["seen"]
        assert len(seen) == len(set(seen)) == len(expected[user])
        assert set(seen) == expected[user]


def test_first_messages_of_a_new_user_create_it_once(workers, fresh_db, log_path):
    """Every worker sends a brand-new user its first message at the same moment."""
    users = [f"newbie-{n}" for n in range(5)]
    plans = [[(user, f"{user}-w{w}") for user in users] for w in range(WORKERS)]

    reports = workers.run(send_jobs(fresh_db, log_path, plans, lockstep=True))

    handled, duplicate = check_reports(reports)
    assert duplicate == []
    assert sorted(handled) == sorted(m for plan in plans for _, m in plan)
    assert all(text != ERROR_REPLY for r in reports for _, text in r["sent"])
    pre_runs = Counter(f[1] for f in read_log(log_path) if f[0] == "pre")
    assert pre_runs == dict.fromkeys(users, 1)
    snapshot = Snapshot(fresh_db)
    assert snapshot.user_rows == dict.fromkeys(users, 1)
    for user in users:
        assert snapshot.arguments[user]["pre_runs"] == 1
        assert snapshot.arguments[user]["count"] == WORKERS


def test_turns_of_one_user_never_interleave(workers, fresh_db, log_path):
    """Read, sleep, write: from six processes at once, no update is lost.

    Half the workers send messages without an id, so their turns do not begin by recording
    one: the user row's lock alone must keep them apart.
    """
    users = ["hot-a", "hot-b"]
    per_worker = 6
    plans = [[(users[n % 2], f"w{w}-{n}") for n in range(per_worker)] for w in range(WORKERS)]
    jobs = send_jobs(fresh_db, log_path, plans, pause=0.005)
    for w, (_, options) in enumerate(jobs):
        options["with_ids"] = w % 2 == 0

    reports = workers.run(jobs)

    handled, duplicate = check_reports(reports)
    assert duplicate == []
    assert len(handled) == WORKERS * per_worker
    log = read_log(log_path)
    snapshot = Snapshot(fresh_db)
    for user in users:
        expected = WORKERS * per_worker // 2
        assert snapshot.arguments[user]["count"] == expected
        assert len(set(snapshot.arguments[user]["seen"])) == expected
        assert_no_overlap(log, user)


def test_each_users_messages_are_handled_in_order(workers, fresh_db, log_path):
    """One producer per user sends numbered messages while other processes hammer others."""
    rng = random.Random(11)
    producers = 3
    numbered = 20
    ordered = [f"ordered-{p}" for p in range(producers)]
    others = [f"other-{n}" for n in range(3)]
    plans = [[(user, f"{user}-{seq:03d}") for seq in range(numbered)] for user in ordered]
    plans += [
        [(rng.choice(others), f"w{w}-{n}") for n in range(30)] for w in range(producers, WORKERS)
    ]

    reports = workers.run(send_jobs(fresh_db, log_path, plans))

    handled, duplicate = check_reports(reports)
    assert duplicate == []
    snapshot = Snapshot(fresh_db)
    log = read_log(log_path)
    for user, plan in zip(ordered, plans[:producers], strict=True):
        expected = [message_id for _, message_id in plan]
        assert snapshot.arguments[user]["seen"] == expected
        runs = sorted((int(f[4]), f[2]) for f in log if f[0] == "func" and f[1] == user)
        assert [message_id for _, message_id in runs] == expected
    hammered = Counter(user for plan in plans[producers:] for user, _ in plan)
    for user in others:
        assert snapshot.arguments[user]["count"] == hammered[user]
