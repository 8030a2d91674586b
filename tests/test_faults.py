"""DESIGN §7 and §9 under faults: real worker processes, a real PostgreSQL, real failures.

- a queue worker SIGKILLed in the middle of a turn;
- the PostgreSQL server stopped and restarted while events are enqueued and handled;
- inline turns while the server is down, and after it is back;
- a poison event, through ``chatbotmaker worker`` and ``chatbotmaker jobs``;
- a handler that raises, in queued mode.

The bot is ``tests/fixtures/fault_bot/fault_rules.py``: each turn appends the message to the
user's ``seen`` argument (which commits with the turn) and answers ``<n>:<text>``. Workers run
``chatbotmaker worker`` with the ``dev`` messenger, whose stdout (a line per reply, to a
file) is the record of what was delivered; the rules log every handler run, committed or not,
to ``runs.log``. So ``seen`` shows what was handled, once and in order, ``runs.log`` what was
attempted, and the workers' output what reached the user.

The restart tests stop and start a server of their own, not the session's shared one.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from chatbotmaker_core import Bot, Database, Dispatcher, Message, NullMessenger
from chatbotmaker_core.queued import TURN_TASK, user_lock
from chatbotmaker_core.testing import RecordingMessenger
from devsupport.postgres import PostgresServer, PostgresUnavailable, start_postgres

pytestmark = pytest.mark.postgres

CLI = Path(sys.executable).with_name("chatbotmaker")
FIXTURE = Path(__file__).parent / "fixtures" / "fault_bot"
ERROR_REPLY = "ERROR-REPLY"
#: [worker] settings short enough for a test: a silent worker's jobs are retried within ~3 s
FAST_WORKER = {
    "concurrency": 2,
    "heartbeat_interval": 0.5,
    "stalled_after": 2.0,
    "check_interval": 0.5,
}


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rules() -> Iterator[dict[str, Any]]:
    """The fault bot's rules, imported from the fixture folder."""
    sys.path.insert(0, str(FIXTURE))
    try:
        yield importlib.import_module("fault_rules").RULES
    finally:
        sys.path.remove(str(FIXTURE))


@pytest.fixture(scope="module")
def own_server(postgres_server: PostgresServer) -> Iterator[PostgresServer]:
    """A server of this module's own, which its tests stop and restart."""
    try:
        server = start_postgres()
    except PostgresUnavailable as error:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"the restart tests need the server binaries: {error}", pytrace=False)
        pytest.skip(f"the restart tests need the server binaries: {error}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_url(own_server: PostgresServer) -> Iterator[str]:
    name = f"faults_{uuid.uuid4().hex[:16]}"
    url = own_server.create_database(name)
    yield url
    own_server.drop_database(name)


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    folder = tmp_path / "trace"
    folder.mkdir()
    return folder


@pytest.fixture
def queued_bot(rules: dict[str, Any]) -> Iterator[Callable[[str], Bot]]:
    """``queued_bot(url)``: the webhook's side of a queued bot, which only enqueues; closed at
    the end of the test."""
    bots: list[Bot] = []

    def build(url: str) -> Bot:
        bot = Bot({"mode": "queued"}, NullMessenger(), Dispatcher(rules), Database(url))
        bots.append(bot)
        bot.queue.apply_schema()
        return bot

    yield build
    for bot in bots:
        bot.queue.close()
        bot.database.dispose()


class WorkerProcess:
    """``chatbotmaker worker`` in a subprocess; its stdout and stderr go to files."""

    def __init__(self, name: str, folder: Path, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.out = folder / f"{name}.out"
        self.err = folder / f"{name}.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"worker {self.name} still running after {timeout}s\n{self.tail()}")

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)

    def tail(self, lines: int = 30) -> str:
        logged = self.err.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.name} (pid {self.pid}) stderr ---\n" + "\n".join(logged)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """``start(name, config, env, *options)``; every worker started is killed at the end."""
    started: list[WorkerProcess] = []

    def start(name: str, config: Path, env: dict[str, str], *options: str) -> WorkerProcess:
        argv = [str(CLI), "worker", str(config), *options]
        worker = WorkerProcess(name, tmp_path, argv, env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.poll() is None:
            worker.process.kill()
            worker.process.wait(10)


# --- helpers ----------------------------------------------------------------------------------


def write_config(
    folder: Path, url: str, *, bot: dict[str, Any] | None = None, **worker: Any
) -> Path:
    """A queued-mode config on ``url`` with the ``dev`` messenger and the fault bot's rules."""
    options = {
        "mode": "queued",
        "error_message": ERROR_REPLY,
        "job_retry_wait": 0,
        "send_backoff": 0.01,
        **(bot or {}),
    }

    def table(name: str, values: dict[str, Any]) -> str:
        rows = "".join(
            f"{key} = {json.dumps(value) if isinstance(value, str) else value}\n"
            for key, value in values.items()
        )
        return f"[{name}]\n{rows}"

    config = folder / "chatbotmaker.toml"
    config.write_text(
        table("bot", options)
        + table("worker", {**FAST_WORKER, **worker})
        + table("messenger", {"name": "dev"})
        + table("database", {"name": "sqlalchemy", "url": url})
        + table("rules", {"name": "python", "source": "fault_rules:RULES"})
    )
    return config


def cli_env(trace: Path, **variables: str) -> dict[str, str]:
    """The environment of a CLI process: the fault bot importable, tracing to ``trace``."""
    path = [str(FIXTURE), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(path),
        "FAULT_BOT_TRACE": str(trace),
        **variables,
    }


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def seen(bot: Bot, user: str) -> list[str]:
    return bot.database.get_arguments(user).get("seen", [])


def handled_ids(bot: Bot) -> set[str]:
    with bot.database.engine.connect() as conn:
        rows = conn.execute(text("SELECT message_id FROM chatbotmaker_handled_messages"))
        return {row[0] for row in rows}


def jobs(bot: Bot) -> list[Any]:
    with bot.database.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT id, task_name, status, attempts, args->'message'->>'text' AS said "
                "FROM procrastinate_jobs ORDER BY id"
            )
        ).all()


def live_workers(bot: Bot) -> int:
    """Workers whose heartbeat is fresh (a worker whose heartbeat died looks stalled)."""
    with bot.database.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM procrastinate_workers "
                "WHERE last_heartbeat > now() - interval '1.5 seconds'"
            )
        ).scalar_one()


def runs(trace: Path) -> list[tuple[str, str, int]]:
    """Every handler run as ``(user, text, pid)``, committed or not."""
    log = trace / "runs.log"
    if not log.exists():
        return []
    lines = (line.split() for line in log.read_text().splitlines())
    return [(user, said, int(pid)) for user, said, pid in lines]


def replies(users: list[str], *workers: WorkerProcess) -> dict[str, list[str]]:
    """What the ``dev`` messenger of ``workers`` printed, per user, worker by worker.

    It prints ``<user> > <text>`` then a newline, in two writes: when two threads of a worker
    print at once, a line can hold two records. Records are split where one of ``users``
    starts one; anything else is kept under ``"?"``, so that it shows in comparisons.
    """
    starts = re.compile("(?=(?:" + "|".join(map(re.escape, users)) + ") > )")
    by_user: dict[str, list[str]] = {}
    for worker in workers:
        for line in worker.out.read_text().splitlines():
            for record in filter(None, starts.split(line)):
                user, arrow, said = record.partition(" > ")
                if arrow and user in users:
                    by_user.setdefault(user, []).append(said)
                else:
                    by_user.setdefault("?", []).append(record)
    return by_user


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    worker: WorkerProcess | None = None,
) -> None:
    """Poll ``condition``; fail after ``timeout`` s, or at once if ``worker`` exits."""
    deadline = time.monotonic() + timeout
    while not condition():
        if worker is not None and worker.poll() is not None:
            pytest.fail(f"waiting for {what}: worker exited ({worker.poll()})\n{worker.tail()}")
        if time.monotonic() > deadline:
            tail = f"\n{worker.tail()}" if worker is not None else ""
            pytest.fail(f"timed out after {timeout}s waiting for {what}{tail}")
        time.sleep(0.05)


def stop_server(server: PostgresServer) -> None:
    """``pg_ctl stop -m fast``: every session is cut; the server stays down until started."""
    server._pg_ctl("stop", "-m", "fast")


def start_server(server: PostgresServer) -> None:
    server._pg_ctl("start")


def enqueue_with_retry(
    bot: Bot, message: Message, errors: list[str], deadline: float = 90.0
) -> int:
    """``bot.receive`` until it succeeds, with a bounded backoff: what a webhook answering 5xx
    and Meta redelivering amount to. Returns the number of attempts; ``errors`` gets one line
    per failed attempt."""
    started, pause = time.monotonic(), 0.05
    for attempt in range(1, 1000):
        try:
            bot.receive(message)
            return attempt
        except Exception as error:  # noqa: BLE001 - any failure to enqueue is answered with a 5xx
            failed_after = time.monotonic() - started
            cause = error.__cause__ or error
            errors.append(
                f"{message.message_id} attempt {attempt} ({failed_after:.2f}s): {cause!r}"
            )
            if failed_after > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
    raise AssertionError("unreachable")


# --- a worker SIGKILLed mid-turn ---------------------------------------------------------------


def test_worker_killed_mid_turn_loses_nothing_and_doubles_nothing(
    pg_url, tmp_path, trace, queued_bot, workers
):
    config = write_config(tmp_path, pg_url)
    env = cli_env(trace, FAULT_BOT_SLOW="60")
    bot = queued_bot(pg_url)
    before = ["a1", "b1", "a2", "b2", "slow-a3", "b3", "a4", "b4"]
    after = ["a5", "b5", "a6", "b6"]
    for said in before:
        bot.receive(Message(said[-2], said, message_id=said))

    # One job at a time: the turns a1 b1 a2 b2 (and their deliveries), then the slow turn.
    first = workers("first", config, env, "--concurrency", "1")
    wait_until((trace / "slow-a3.started").exists, 30, "the slow turn to start", first)
    first.process.kill()
    assert first.wait(10) == -signal.SIGKILL

    # Nothing of the killed turn committed; user a's later events wait behind its lock.
    assert seen(bot, "a") == ["a1", "a2"]
    assert seen(bot, "b") == ["b1", "b2"]
    status = {row.said: row.status for row in jobs(bot) if row.task_name == "chatbotmaker.turn"}
    assert status["slow-a3"] == "doing"
    assert status["a4"] == status["b3"] == "todo"
    for said in after:  # the webhook keeps enqueueing meanwhile
        bot.receive(Message(said[-2], said, message_id=said))

    second = workers("second", config, env, "--burst")
    assert second.wait(40) == 0, second.tail()

    assert seen(bot, "a") == ["a1", "a2", "slow-a3", "a4", "a5", "a6"]
    assert seen(bot, "b") == ["b1", "b2", "b3", "b4", "b5", "b6"]
    ran = runs(trace)
    assert Counter(said for _, said, _ in ran) == {
        **{said: 1 for said in before + after},
        "slow-a3": 2,  # killed once, then run to the end once
    }
    assert [pid for _, said, pid in ran if said == "slow-a3"] == [first.pid, second.pid]
    assert "retrying stalled job" in second.err.read_text()
    assert replies(["a", "b"], first, second) == {
        "a": ["1:a1", "2:a2", "3:slow-a3", "4:a4", "5:a5", "6:a6"],
        "b": ["1:b1", "2:b2", "3:b3", "4:b4", "5:b5", "6:b6"],
    }
    finished = jobs(bot)
    assert Counter(row.status for row in finished) == {"succeeded": 2 * 12}
    # procrastinate counts a job's ends: one for each, and the rescue of the killed one
    attempts = {row.said or row.id: row.attempts for row in finished}
    assert Counter(attempts.values()) == {1: 2 * 12 - 1, 2: 1} and attempts["slow-a3"] == 2


# --- PostgreSQL restarted --------------------------------------------------------------------


def test_postgres_restarted_under_load_loses_nothing_acknowledged(
    own_server, own_url, tmp_path, trace, queued_bot, workers
):
    config = write_config(tmp_path, own_url, concurrency=4)
    env = cli_env(trace, FAULT_BOT_PAUSE="0.02")
    bot = queued_bot(own_url)
    users = ["u0", "u1", "u2", "u3"]
    plan = [(user, f"pause-{user}-{n}") for n in range(30) for user in users]
    acknowledged: list[str] = []
    felt: list[tuple[int, float]] = []  # per event: attempts, seconds until acknowledged
    failures: list[BaseException] = []
    errors: list[str] = []

    def produce() -> None:
        try:
            for user, said in plan:
                started = time.monotonic()
                attempts = enqueue_with_retry(bot, Message(user, said, message_id=said), errors)
                felt.append((attempts, time.monotonic() - started))
                acknowledged.append(said)
                time.sleep(0.03)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            failures.append(error)

    worker = workers("worker", config, env)
    wait_until(lambda: "worker for" in worker.err.read_text(), 30, "the worker to start", worker)
    producer = threading.Thread(target=produce, name="producer", daemon=True)
    producer.start()

    def delivered(count: int) -> Callable[[], bool]:
        return lambda: sum(map(len, replies(users, worker).values())) >= count or bool(failures)

    faults: list[str] = []  # what each fault took, for the failure messages

    def timed(what: str, action: Callable[[], object]) -> None:
        started = time.monotonic()
        action()
        faults.append(f"{what} {time.monotonic() - started:.2f}s")

    wait_until(delivered(8), 30, "the worker to be at work", worker)
    # Fault 1: the server goes away for 1.5 s while events arrive and turns run.
    timed("stop", lambda: stop_server(own_server))
    time.sleep(1.5)
    timed("start", lambda: start_server(own_server))
    wait_until(lambda: len(acknowledged) >= 80 or bool(failures), 60, "80 events enqueued")
    wait_until(delivered(60), 60, "the worker to be at work again", worker)
    # Fault 2: a fast restart (every session cut, the server back at once).
    timed("restart", own_server.restart)
    producer.join(120)
    assert not failures, (failures, errors, faults)
    assert acknowledged == [said for _, said in plan]
    # The producer felt the outage: enqueueing failed and was retried, or waited for the pool.
    assert any(attempts > 1 or seconds > 1.0 for attempts, seconds in felt), felt

    expected = {user: [said for u, said in plan if u == user] for user in users}

    def drained() -> bool:
        try:
            left = [row for row in jobs(bot) if row.status in ("todo", "doing")]
            return not left and all(seen(bot, user) == expected[user] for user in users)
        except sa_exc.DBAPIError:
            return False

    wait_until(drained, 60, f"every event handled and delivered ({faults})", worker)
    assert worker.poll() is None  # the worker outlived both outages
    wait_until(lambda: live_workers(bot) == 1, 10, "a fresh heartbeat of the worker", worker)
    for user in users:
        assert seen(bot, user) == expected[user]  # each event handled once, in order
    assert handled_ids(bot) == set(acknowledged)
    assert [row for row in jobs(bot) if row.status != "succeeded"] == []
    # Delivery is at-least-once: a reply sent just before the connection was cut may be sent
    # again; what reaches each user is every reply, in order.
    delivered = replies(users, worker)
    assert "?" not in delivered, delivered["?"]
    for user in users:
        wanted = [f"{n}:{said}" for n, said in enumerate(expected[user], 1)]
        got = delivered.get(user, [])
        assert list(dict.fromkeys(got)) == wanted
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0, worker.tail()


def test_inline_turns_during_an_outage_fail_as_database_errors_then_recover(
    own_server, own_url, rules
):
    messenger = RecordingMessenger()
    bot = Bot({"error_message": ERROR_REPLY}, messenger, Dispatcher(rules), Database(own_url))
    assert bot.receive(Message("u", "m1", message_id="m1")).handled

    own_server.restart()  # the pooled connection is dead; pre-ping replaces it
    assert bot.receive(Message("u", "m2", message_id="m2")).handled

    stop_server(own_server)
    try:
        with pytest.raises(sa_exc.OperationalError):
            bot.receive(Message("u", "m3", message_id="m3"))
    finally:
        start_server(own_server)
    assert messenger.texts("u") == ["1:m1", "2:m2"]  # no apology: no handler failed
    assert handled_ids(bot) == {"m1", "m2"}  # m3 is not marked handled

    # The platform redelivers m3 (the webhook answered 5xx); then life goes on.
    assert bot.receive(Message("u", "m3", message_id="m3")).handled
    assert bot.receive(Message("u", "m4", message_id="m4")).handled
    assert seen(bot, "u") == ["m1", "m2", "m3", "m4"]
    assert messenger.texts("u") == ["1:m1", "2:m2", "3:m3", "4:m4"]
    bot.database.dispose()


def test_inline_turn_cut_by_a_restart_is_a_database_error_not_a_handler_failure(
    own_server, own_url, rules, trace, monkeypatch
):
    monkeypatch.setenv("FAULT_BOT_TRACE", str(trace))
    messenger = RecordingMessenger()
    bot = Bot({"error_message": ERROR_REPLY}, messenger, Dispatcher(rules), Database(own_url))
    outcome: list[Any] = []

    def turn() -> None:
        try:
            outcome.append(bot.receive(Message("u", "hold-1", message_id="h1")))
        except Exception as error:  # noqa: BLE001 - what the webhook would see
            outcome.append(error)

    thread = threading.Thread(target=turn)
    thread.start()
    try:
        wait_until(lambda: bool(runs(trace)), 10, "the handler to start")
        own_server.restart()  # while the handler holds its transaction open
    finally:
        (trace / "hold-1.go").touch()  # the handler goes on, on a connection that was cut
        thread.join(30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], sa_exc.DBAPIError), outcome[0]
    assert messenger.texts("u") == []  # no apology: no handler failed
    assert handled_ids(bot) == set()  # not marked handled: the redelivery is handled

    assert bot.receive(Message("u", "hold-1", message_id="h1")).handled
    assert seen(bot, "u") == ["hold-1"]
    assert messenger.texts("u") == ["1:hold-1"]
    bot.database.dispose()


# --- poison events and failing handlers, queued ------------------------------------------------


def test_poison_event_fails_after_bounded_retries_then_jobs_lists_and_retries_it(
    pg_url, tmp_path, trace, queued_bot, workers
):
    config = write_config(tmp_path, pg_url, bot={"job_attempts": 3})
    env = cli_env(trace)
    bot = queued_bot(pg_url)
    # A job no turn can take, every time: a user id longer than users.fb_id. Message() refuses
    # to make one now, so it is queued as a raw job, as an older release could have left it.
    poison = "p" * 300
    for user, said in [("o1", "x1"), (poison, "hi"), ("o2", "y1"), ("o1", "x2"), ("o2", "y2")]:
        if user == poison:
            job = {"user_id": user, "text": said, "message_id": f"{user[:8]}-{said}"}
            bot.queue._defer(TURN_TASK, user_lock(user), message=job)
        else:
            bot.receive(Message(user, said, message_id=f"{user[:8]}-{said}"))

    worker = workers("worker", config, env, "--burst")
    assert worker.wait(40) == 0, worker.tail()  # the poison did not keep it busy forever
    assert seen(bot, "o1") == ["x1", "x2"] and seen(bot, "o2") == ["y1", "y2"]
    assert replies(["o1", "o2", poison], worker) == {"o1": ["1:x1", "2:x2"], "o2": ["1:y1", "2:y2"]}
    assert sorted(said for _, said, _ in runs(trace)) == ["x1", "x2", "y1", "y2"]
    failed = [row for row in jobs(bot) if row.status == "failed"]
    assert [(row.task_name, row.said, row.attempts) for row in failed] == [
        ("chatbotmaker.turn", "hi", 3)
    ]
    assert bot.database.get_user(poison) is None

    listing = run_cli("jobs", str(config), env=env)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[-1] == "1 failed job"
    job_id, status, task, lock, tries = lines[0].split("\t")[:5]
    assert (int(job_id), status, task) == (failed[0].id, "failed", "chatbotmaker.turn")
    assert lock == f"chatbotmaker:user:{poison}" and tries == "attempts=3"

    retried = run_cli("jobs", str(config), "--retry-all", env=env)
    assert retried.returncode == 0, retried.stderr
    assert f"retried job {job_id}" in retried.stdout.splitlines()
    assert [(row.id, row.status) for row in jobs(bot) if row.said == "hi"] == [
        (failed[0].id, "todo")
    ]
    again = run_cli("jobs", str(config), env=env)
    assert again.stdout.splitlines()[-1] == "0 failed jobs"


def test_handler_exception_in_queued_mode_rolls_back_and_apologises(
    pg_url, tmp_path, trace, queued_bot, workers
):
    # One job at a time: with delivery jobs ahead of turns, the apology comes after the reply
    # deferred by the user's turn before.
    config = write_config(tmp_path, pg_url, concurrency=1)
    bot = queued_bot(pg_url)
    plan = [("c", "c1"), ("c", "boom-c2"), ("d", "d1"), ("c", "c3"), ("d", "d2")]
    for user, said in plan:
        bot.receive(Message(user, said, message_id=said))
    bot.receive(Message("c", "boom-c2", message_id="boom-c2"))  # redelivered by the platform

    worker = workers("worker", config, cli_env(trace), "--burst")
    assert worker.wait(40) == 0, worker.tail()
    assert seen(bot, "c") == ["c1", "c3"]  # boom-c2 had appended itself: rolled back
    assert seen(bot, "d") == ["d1", "d2"]
    # Once each and in order; the other user is unaffected.
    assert replies(["c", "d"], worker) == {
        "c": ["1:c1", ERROR_REPLY, "2:c3"],
        "d": ["1:d1", "2:d2"],
    }
    # The failure is final (not retried as a job), and the redelivery was skipped.
    assert Counter(said for _, said, _ in runs(trace)) == {said: 1 for _, said in plan}
    assert handled_ids(bot) == {said for _, said in plan}
    assert {row.status for row in jobs(bot)} == {"succeeded"}
    assert "handler failed for user c in state 'welcome'" in worker.err.read_text()
