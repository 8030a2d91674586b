"""A turn on SQLite and PostgreSQL: the seed's call order, atomicity, dedupe, the outbox."""

import logging

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, select
from sqlalchemy.orm import DeclarativeBase, relationship

from chatbotmaker_core import (
    Bot,
    ConfigError,
    Database,
    DeliveryError,
    Dispatcher,
    Message,
    UnknownStateError,
    add_relationship,
)
from chatbotmaker_core.testing import RecordingMessenger


def traced_rules(trace):
    """Two states whose every handler records (handler, state) and replies with it."""

    def handler(kind, then=None):
        def run(user, *args):
            trace.append((kind, user.state) + args)
            user.send_message(f"{kind}:{user.state}")
            if then:
                then(user, *args)

        return run

    return {
        "actions": {
            "welcome": {
                "pre_func": handler("pre"),
                "func": handler("func", lambda user, text: user.change_state(text)),
                "post_func": handler("post"),
                "enter_func": handler("enter"),
            },
            "home": {
                "pre_func": handler("pre"),
                "func": handler("func", lambda user, text: user.change_state(text)),
                "post_func": handler("post"),
                "enter_func": handler("enter"),
            },
        }
    }


def make_bot(db_url, rules, config=None, messenger=None, base=None):
    database = Database({"sqlalchemy.url": db_url}, base=base)
    return Bot(config or {}, messenger or RecordingMessenger(), Dispatcher(rules), database)


def test_new_user_runs_seed_order(db_url):
    trace = []
    bot = make_bot(db_url, traced_rules(trace))
    result = bot.handle(Message(user_id="42", text="home", message_id="m1"))
    assert trace == [
        ("pre", "welcome"),
        ("func", "welcome", "home"),
        ("post", "welcome"),
        ("pre", "home"),
        ("enter", "home"),
    ]
    assert bot.messenger.sent == [
        ("42", "pre:welcome"),
        ("42", "func:welcome"),
        ("42", "post:welcome"),
        ("42", "pre:home"),
        ("42", "enter:home"),
    ]
    assert result.handled and result.sent == 5
    assert bot.database.get_user("42").state == "home"


def test_known_user_skips_initial_pre_func(db_url):
    trace = []
    bot = make_bot(db_url, traced_rules(trace))
    bot.user_handle("42", "welcome")
    trace.clear()
    assert bot.user_handle("42", "home") == "42's request has been handled"
    assert trace == [
        ("func", "welcome", "home"),
        ("post", "welcome"),
        ("pre", "home"),
        ("enter", "home"),
    ]


def test_initial_state_is_configurable_and_checked(db_url):
    trace = []
    bot = make_bot(db_url, traced_rules(trace), config={"initial_state": "home"})
    bot.user_handle("7", "home")
    assert trace[0] == ("pre", "home")
    with pytest.raises(ConfigError, match="initial_state.*'lobby'"):
        make_bot(db_url, traced_rules(trace), config={"initial_state": "lobby"})


def test_unknown_state_rolls_back_before_post_func(db_url, caplog):
    trace = []
    bot = make_bot(db_url, traced_rules(trace), config={"error_message": "sorry!"})
    bot.user_handle("42", "home")
    trace.clear()
    bot.messenger.sent.clear()
    result = bot.handle(Message(user_id="42", text="nowhere", message_id="m2"))
    assert isinstance(result.error, UnknownStateError)
    assert "unknown state 'nowhere'" in str(result.error)
    assert trace == [("func", "home", "nowhere")]  # no post_func ran
    assert bot.messenger.sent == [("42", "sorry!")]  # nothing the handler queued
    assert bot.database.get_user("42").state == "home"
    record = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert "user 42" in record.getMessage() and "'home'" in record.getMessage()
    assert record.exc_info is not None


def failing_rules():
    def func(user, text):
        user.store_argument("touched", True)
        user.change_state("second")
        user.send_message("never sent")
        if text == "boom":
            raise RuntimeError("handler exploded")

    return {
        "actions": {
            "welcome": {"func": func},
            "second": {"func": lambda user, text: user.send_message(f"second got {text}")},
        }
    }


def test_handler_error_rolls_back_everything(db_url, caplog):
    bot = make_bot(db_url, failing_rules())
    bot.user_handle("1", "x")  # user 1 exists, in 'second'
    bot.messenger.sent.clear()
    result = bot.handle(Message(user_id="2", text="boom", message_id="b1"))
    assert isinstance(result.error, RuntimeError)
    assert bot.database.get_user("2") is None  # even the new user row is rolled back
    assert bot.messenger.sent == [
        ("2", "Sorry, something went wrong on our side. Please try again.")
    ]
    assert "handler exploded" in caplog.text
    # Other users are unaffected.
    bot.handle(Message(user_id="1", text="hello", message_id="ok1"))
    assert bot.messenger.sent[-1] == ("1", "second got hello")
    assert bot.database.get_arguments("1") == {"touched": True}


def test_existing_user_state_and_arguments_survive_a_failure(db_url):
    bot = make_bot(db_url, failing_rules(), config={"error_message": ""})
    database = bot.database
    bot.handle(Message(user_id="3", text="fine", message_id="f1"))
    with database.engine.begin() as conn:  # put the user back in welcome, arguments cleared
        conn.execute(database.user_class.__table__.update().values(state="welcome"))
        conn.execute(database.argument_class.__table__.delete())
    bot.messenger.sent.clear()
    bot.handle(Message(user_id="3", text="boom", message_id="f2"))
    assert database.get_user("3").state == "welcome"
    assert database.get_arguments("3") == {}
    assert bot.messenger.sent == []  # error_message = "" sends nothing


def test_redelivered_message_is_handled_once(db_url):
    calls = []
    rules = {"actions": {"welcome": {"func": lambda user, text: calls.append(text)}}}
    bot = make_bot(db_url, rules)
    first = bot.handle(Message(user_id="9", text="a", message_id="mid.1"))
    again = bot.handle(Message(user_id="9", text="a", message_id="mid.1"))
    bot.handle(Message(user_id="9", text="b", message_id="mid.2"))
    assert calls == ["a", "b"]
    assert first.handled and not first.duplicate
    assert again.duplicate and not again.handled


def test_failed_message_is_not_retried_on_redelivery(db_url):
    bot = make_bot(db_url, failing_rules())
    bot.handle(Message(user_id="5", text="boom", message_id="x1"))
    bot.handle(Message(user_id="5", text="boom", message_id="x1"))
    assert len(bot.messenger.sent) == 1  # one apology, not two


def test_replies_are_sent_after_commit_in_order(db_url):
    seen = []

    class Checking(RecordingMessenger):
        def send(self, user_id, text):
            seen.append((text, bot.database.get_user(user_id).state))
            super().send(user_id, text)

    def func(user, text):
        user.send_message("one")
        user.change_state("done")
        user.send_message("two")

    rules = {"actions": {"welcome": {"func": func}, "done": {"func": func}}}
    bot = make_bot(db_url, rules, messenger=Checking())
    bot.user_handle("11", "go")
    assert seen == [("one", "done"), ("two", "done")]


def test_arguments_round_trip_json_values(db_url):
    def func(user, text):
        if text == "store":
            user.store_argument("count", 3)
            user.store_argument("cart", {"items": ["ham", "olives"], "total": 12.5})
            user.store_argument("name", "Ada")
            user.store_argument("name", "Grace")  # replaces
        else:
            user.send_message(repr(user.get_argument("count")))
            user.send_message(repr(user.get_argument("cart")))
            user.send_message(repr(user.get_argument("missing", "fallback")))
            user.send_message(repr(user.get_argument("missing")))

    bot = make_bot(db_url, {"actions": {"welcome": {"func": func}}})
    bot.user_handle("u", "store")
    bot.user_handle("u", "read")
    assert [t for _, t in bot.messenger.sent] == [
        "3",
        "{'items': ['ham', 'olives'], 'total': 12.5}",
        "'fallback'",
        "None",
    ]
    assert bot.database.get_arguments("u")["name"] == "Grace"


def test_user_exposes_components_and_message(db_url):
    captured = {}

    def func(user, text):
        captured.update(
            fb_id=user.fb_id,
            messenger=user.messenger,
            dispatcher=user.dispatcher,
            database=user.database,
            message=user.message,
        )

    bot = make_bot(db_url, {"actions": {"welcome": {"func": func}}})
    message = Message(user_id="77", text="hi", message_id="q", kind="postback", payload="hi")
    bot.handle(message)
    assert captured == {
        "fb_id": "77",
        "messenger": bot.messenger,
        "dispatcher": bot.dispatcher,
        "database": bot.database,
        "message": message,
    }


class AppBase(DeclarativeBase):
    pass


class Note(AppBase):
    __tablename__ = "notes"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)
    body = Column(String(100), nullable=False)


def test_application_tables_commit_and_roll_back_with_the_turn(db_url):
    def func(user, text):
        user.notes.append(Note(body=text))
        user.send_message(f"{len(user.notes)} notes")
        if text == "boom":
            raise ValueError("no")

    database = Database({"sqlalchemy.url": db_url}, base=AppBase)
    if "notes" not in database.user_class.__mapper__.relationships:  # once per module
        add_relationship(database.user_class, "notes", relationship(Note, order_by=Note.id))
    bot = Bot(
        {}, RecordingMessenger(), Dispatcher({"actions": {"welcome": {"func": func}}}), database
    )
    bot.user_handle("n", "first")
    bot.user_handle("n", "boom")
    bot.user_handle("n", "second")
    with database.session_maker() as session:
        bodies = session.scalars(select(Note.body).order_by(Note.id)).all()
    assert bodies == ["first", "second"]
    assert [t for _, t in bot.messenger.sent][0::1] == [
        "1 notes",
        "Sorry, something went wrong on our side. Please try again.",
        "2 notes",
    ]


def test_the_user_is_a_persistent_orm_object_of_the_turn_session(db_url):
    """Handlers may use the user as an ORM object: its unread columns load, its dynamic
    relationship queries, it belongs to ``database.session``, and a column it changes is
    written with the turn."""
    seen = []

    def func(user, text):
        session = user.database.session
        seen.append(
            (
                user in session,
                user.last_message_at is not None,  # an unread column, loaded on access
                user.arguments.count(),  # the dynamic relationship, on the turn's connection
            )
        )
        user.store_argument("n", len(seen))
        if text == "rename":
            user.fb_id = "renamed"  # flushed with the turn

    bot = make_bot(db_url, {"actions": {"welcome": {"func": func}}})
    bot.handle(Message(user_id="orm", text="hi", message_id="o1"))
    bot.handle(Message(user_id="orm", text="rename", message_id="o2"))
    assert seen == [(True, True, 0), (True, True, 1)]
    assert bot.database.get_user("orm") is None
    assert bot.database.get_arguments("renamed") == {"n": 2}


class Flaky(RecordingMessenger):
    def __init__(self, failures, transient=True):
        super().__init__()
        self.failures = failures
        self.transient = transient
        self.attempts = 0

    def send(self, user_id, text):
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise DeliveryError("platform unavailable", transient=self.transient, code=2)
        super().send(user_id, text)


FAST = {"send_backoff": 0.001, "send_max_backoff": 0.01}


def two_replies(user, text):
    user.send_message("first")
    user.send_message("second")


def test_transient_send_failures_are_retried(db_url):
    messenger = Flaky(failures=2)
    bot = make_bot(db_url, {"actions": {"welcome": {"func": two_replies}}}, FAST, messenger)
    result = bot.handle(Message(user_id="r", text="go", message_id="t1"))
    assert messenger.sent == [("r", "first"), ("r", "second")]
    assert messenger.attempts == 4 and result.sent == 2


def test_permanent_send_failure_is_recorded_and_stops_the_turns_replies(db_url, caplog):
    messenger = Flaky(failures=1, transient=False)
    bot = make_bot(db_url, {"actions": {"welcome": {"func": two_replies}}}, FAST, messenger)
    result = bot.handle(Message(user_id="p", text="go", message_id="t2"))
    assert messenger.sent == [] and messenger.attempts == 1 and result.sent == 0
    table = bot.database.models.DeliveryFailure.__table__
    with bot.database.engine.connect() as conn:
        rows = conn.execute(select(table.c.user_id, table.c.text, table.c.code)).all()
    assert [tuple(r) for r in rows] == [("p", "first", "2"), ("p", "second", "2")]
    assert "could not deliver 2 replies to user p" in caplog.text
    assert bot.database.get_user("p").state == "welcome"  # the turn itself committed


def test_unknown_bot_option_suggests(db_url):
    with pytest.raises(
        ConfigError, match=r"unknown option 'inital_state' \(did you mean 'initial_state'\?\)"
    ):
        make_bot(db_url, failing_rules(), config={"inital_state": "welcome"})


def test_queued_mode_is_refused_on_sqlite(sqlite_url):
    with pytest.raises(ConfigError, match="queued.*PostgreSQL"):
        make_bot(sqlite_url, failing_rules(), config={"mode": "queued"})
