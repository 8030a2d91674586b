"""Hardened turns, on SQLite and PostgreSQL: users in removed states, handlers that exit,
redelivered messages without a sender action, over-long ids, exact argument numbers."""

import logging
import math
import sys

import pytest

from chatbotmaker_core import Bot, Database, Dispatcher, Message
from chatbotmaker_core.message import MAX_ID_LENGTH, InvalidMessageError
from chatbotmaker_core.testing import RecordingMessenger


def make_bot(db_url, rules, messenger=None):
    database = Database({"sqlalchemy.url": db_url})
    return Bot({}, messenger or RecordingMessenger(), Dispatcher(rules), database)


def echo_rules(trace=None):
    trace = [] if trace is None else trace

    def state(name):
        return {
            "pre_func": lambda user: trace.append(("pre", name)),
            "func": lambda user, text: (
                trace.append(("func", name, text)),
                user.send_message(f"{name}: {text}"),
                text.startswith("go ") and user.change_state(text[3:]),
            ),
            "enter_func": lambda user: trace.append(("enter", user.state)),
        }

    return {"actions": {"welcome": state("welcome"), "home": state("home"), "gone": state("gone")}}


# -- users in a state that was removed from the rules ---------------------------------------


def test_user_in_a_removed_state_is_moved_to_the_initial_state(db_url, caplog):
    bot = make_bot(db_url, echo_rules())
    bot.handle(Message("42", "go gone", message_id="m1"))
    assert bot.database.get_user("42").state == "gone"

    # The next release of the rules has no 'gone' state.
    trace = []
    rules = echo_rules(trace)
    del rules["actions"]["gone"]
    messenger = RecordingMessenger()
    bot = Bot({}, messenger, Dispatcher(rules), bot.database)
    with caplog.at_level(logging.WARNING, logger="chatbotmaker_core"):
        result = bot.handle(Message("42", "hello", message_id="m2"))

    assert result.error is None and result.handled
    assert messenger.texts() == ["welcome: hello"]
    assert trace == [("pre", "welcome"), ("func", "welcome", "hello"), ("enter", "welcome")]
    assert bot.database.get_user("42").state == "welcome"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "user 42 was in state 'gone', which the rules no longer have; "
        "moved to the initial state 'welcome'"
    ]
    # Once moved, the user is an ordinary user of the initial state: no second warning.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="chatbotmaker_core"):
        bot.handle(Message("42", "go home", message_id="m3"))
    assert bot.database.get_user("42").state == "home"
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_a_failed_turn_leaves_the_removed_state_to_be_moved_next_time(db_url):
    bot = make_bot(db_url, echo_rules())
    bot.handle(Message("42", "go gone", message_id="m1"))

    def broken(user, text):
        raise RuntimeError("boom")

    bot = Bot(
        {},
        RecordingMessenger(),
        Dispatcher({"actions": {"welcome": {"func": broken}}}),
        bot.database,
    )
    assert bot.handle(Message("42", "hi", message_id="m2")).error is not None
    assert bot.database.get_user("42").state == "gone"  # rolled back with the turn


# -- handlers that exit ----------------------------------------------------------------------


@pytest.mark.parametrize("raised", [SystemExit, KeyboardInterrupt, GeneratorExit])
def test_a_handler_exiting_is_a_handler_failure(db_url, caplog, raised):
    def stop(user, text):
        user.store_argument("seen", True)
        user.send_message("never sent")
        user.change_state("home")
        if raised is SystemExit:
            sys.exit(3)
        raise raised()

    rules = {"actions": {"welcome": {"func": stop}, "home": {"func": stop}}}
    messenger = RecordingMessenger()
    bot = make_bot(db_url, rules, messenger)
    with caplog.at_level(logging.ERROR, logger="chatbotmaker_core"):
        result = bot.handle(Message("42", "hi", message_id="m1"))

    assert isinstance(result.error, raised)
    assert not result.handled
    assert messenger.texts() == ["Sorry, something went wrong on our side. Please try again."]
    assert bot.database.get_user("42") is None  # the whole turn rolled back
    assert [r.getMessage() for r in caplog.records] == [
        "handler failed for user 42 in state 'welcome'; turn rolled back"
    ]
    assert isinstance(caplog.records[0].exc_info[1], raised)
    # Its id is recorded: a redelivery does not fail (and apologise) again.
    assert bot.handle(Message("42", "hi", message_id="m1")).duplicate


# -- no sender action for a redelivered message ----------------------------------------------


def test_a_redelivered_message_gets_no_sender_action(db_url):
    messenger = RecordingMessenger()
    bot = make_bot(db_url, echo_rules(), messenger)
    bot.handle(Message("42", "hi", message_id="m1"))
    assert messenger.actions == [("42", "mark_seen")]

    result = bot.handle(Message("42", "hi", message_id="m1"))
    assert result.duplicate
    assert messenger.actions == [("42", "mark_seen")]  # nothing for the redelivery
    assert messenger.texts() == ["welcome: hi"]

    # A failed message's id is recorded too: its redelivery shows nothing either.
    bot.dispatcher.actions["welcome"]["func"] = lambda user, text: 1 / 0
    bot.handle(Message("42", "boom", message_id="m2"))
    bot.handle(Message("42", "boom", message_id="m2"))
    assert messenger.actions == [("42", "mark_seen")] * 2
    # Messages without an id (the terminal, user_handle) are never duplicates.
    bot.dispatcher.actions["welcome"]["func"] = lambda user, text: None
    bot.user_handle("42", "hi")
    bot.user_handle("42", "hi")
    assert messenger.actions == [("42", "mark_seen")] * 4


# -- over-long ids ---------------------------------------------------------------------------


def test_over_long_ids_are_refused_with_the_limit_named(db_url):
    bot = make_bot(db_url, echo_rules())
    long_id = "9" * (MAX_ID_LENGTH + 1)
    with pytest.raises(InvalidMessageError) as error:
        bot.handle(Message(long_id, "hi", message_id="m1"))
    assert str(error.value) == (
        f"user id of {MAX_ID_LENGTH + 1} characters ('99999999999999999999...'): "
        f"ids are stored in columns of {MAX_ID_LENGTH} characters; refuse or shorten it "
        f"before it reaches the bot"
    )
    with pytest.raises(InvalidMessageError, match="^message id of 256 characters"):
        bot.handle(Message("42", "hi", message_id="m" * 256))
    with pytest.raises(InvalidMessageError, match="^user id of 300 characters"):
        bot.user_handle("7" * 300, "hi")
    # Nothing was stored; the limit itself is accepted on both databases.
    assert bot.database.get_user(long_id) is None
    assert bot.handle(Message("8" * MAX_ID_LENGTH, "hi", message_id="m" * 255)).handled
    assert bot.database.get_user("8" * MAX_ID_LENGTH).state == "welcome"


def test_an_id_must_be_a_non_empty_string():
    with pytest.raises(InvalidMessageError, match="^user id must be a non-empty string, got 42"):
        Message(42, "hi")
    with pytest.raises(InvalidMessageError, match="^user id must be a non-empty string, got ''"):
        Message("", "hi")
    with pytest.raises(InvalidMessageError, match="^message id must be a non-empty string"):
        Message("42", "hi", message_id=7)


# -- numbers in arguments --------------------------------------------------------------------

EXACT = [
    10**30,
    2**64,
    -(2**70),
    2**63 - 1,
    -(2**63),
    0,
    0.1,
    1.0,
    -0.0,
    1e20,
    1e308,
    5e-324,
    2.5,
    [10**30, {"x": 0.1, "y": 2**64}],
    {"n": -(2**70)},
    "10",
    True,
    None,
]


def test_numbers_in_arguments_come_back_exactly(db_url):
    read = []
    cached = []

    def store(user, text):
        for index, value in enumerate(EXACT):
            user.store_argument(f"v{index}", value)
            cached.append(user.get_argument(f"v{index}"))  # the turn's cache

    def load(user, text):
        read.extend(user.get_argument(f"v{index}") for index in range(len(EXACT)))

    bot = make_bot(db_url, {"actions": {"welcome": {"func": store}, "home": {"func": load}}})
    assert bot.handle(Message("42", "store", message_id="m1")).error is None
    stored = bot.database.get_arguments("42")
    bot.dispatcher.actions["welcome"]["func"] = load
    assert bot.handle(Message("42", "load", message_id="m2")).error is None

    for values in (cached, [stored[f"v{index}"] for index in range(len(EXACT))], read):
        assert [(repr(v), type(v)) for v in values] == [(repr(v), type(v)) for v in EXACT]


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (math.nan, "nan"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        ([1, {"deep": [math.nan]}], "nan at [1]['deep'][0]"),
        ({"a": math.inf}, "inf at ['a']"),
    ],
)
def test_nan_and_infinity_are_refused_by_name(db_url, caplog, value, where):
    def store(user, text):
        user.store_argument("ok", 1)
        user.store_argument("score", value)

    bot = make_bot(db_url, {"actions": {"welcome": {"func": store}}})
    result = bot.handle(Message("42", "hi", message_id="m1"))
    assert isinstance(result.error, ValueError)
    assert str(result.error) == (
        f"argument 'score': {where} is not a JSON number (NaN and Infinity cannot be stored); "
        f"store it as a string, e.g. str(value)"
    )
    assert bot.database.get_arguments("42") == {}


def test_an_over_long_argument_name_is_refused_by_name(db_url):
    def store(user, text):
        user.store_argument("n" * 256, 1)

    bot = make_bot(db_url, {"actions": {"welcome": {"func": store}}})
    error = bot.handle(Message("42", "hi", message_id="m1")).error
    assert isinstance(error, ValueError)
    assert str(error) == (
        "argument name of 256 characters ('nnnnnnnnnnnnnnnnnnnn...'): names are stored in a "
        "column of 255 characters; use a shorter name"
    )


# -- the rest of 0.0.13's user API -----------------------------------------------------------


def test_execute_handle_init_state_and_mark_seen_keep_0_0_13_call_order(db_url):
    trace = []

    class Messenger(RecordingMessenger):
        def mark_seen(self, user_id):
            trace.append(("mark_seen", user_id))
            super().mark_seen(user_id)

    def on(kind):
        return lambda user, *args: trace.append((kind, user.state, *args))

    def welcome(user, text):
        trace.append(("func", "welcome", text))
        user.change_state("home")
        user.execute_handle(text)  # the public 0.0.13 bot's pattern

    def home(user, text):
        trace.append(("func", "home", text))
        if text == "again":
            user.init_state()
        if text == "seen":
            user.mark_seen()

    rules = {
        "actions": {
            "welcome": {
                "func": welcome,
                "pre_func": on("pre"),
                "post_func": on("post"),
                "enter_func": on("enter"),
            },
            "home": {"func": home, "pre_func": on("pre"), "enter_func": on("enter")},
        }
    }
    messenger = Messenger()
    bot = make_bot(db_url, rules, messenger)
    assert bot.handle(Message("42", "hi", message_id="m1")).error is None
    assert trace == [
        ("mark_seen", "42"),  # turn_started, before the handlers
        ("pre", "welcome"),
        ("func", "welcome", "hi"),
        ("post", "welcome"),
        ("pre", "home"),
        ("func", "home", "hi"),
        ("enter", "home"),  # execute_handle's enter_func...
        ("enter", "home"),  # ...and the turn's, as 0.0.13 ran both
    ]
    del trace[:]
    bot.handle(Message("42", "again", message_id="m2"))
    bot.handle(Message("42", "seen", message_id="m3"))
    assert trace == [
        ("mark_seen", "42"),
        ("func", "home", "again"),
        ("pre", "home"),  # init_state: the current state's pre_func
        ("enter", "home"),
        ("mark_seen", "42"),
        ("func", "home", "seen"),
        ("mark_seen", "42"),  # user.mark_seen(), at once
        ("enter", "home"),
    ]
    assert bot.database.get_user("42").state == "home"


def test_0_0_13_model_factories_return_the_one_class_per_base():
    from sqlalchemy.orm import DeclarativeBase

    from chatbotmaker_core.database import create_argument_class, create_user_class
    from chatbotmaker_core.database.models import models_for

    class Base(DeclarativeBase):
        pass

    assert create_user_class(Base) is create_user_class(Base) is models_for(Base).User
    assert create_argument_class(Base) is models_for(Base).Argument
    user = create_user_class(Base)("42")
    assert (user.fb_id, user.state, user.user) == ("42", "welcome", user)


def test_the_redelivery_look_up_on_a_watched_connection(db_url):
    """With a statement listener the turn runs through Connection.execute: same behaviour,
    and the look-up is seen before the turn's transaction."""
    from sqlalchemy import event

    messenger = RecordingMessenger()
    bot = make_bot(db_url, echo_rules(), messenger)
    seen = []
    event.listen(
        bot.database.engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *args: seen.append(statement.split()[0]),
    )
    assert bot.handle(Message("42", "hi", message_id="m1")).handled
    assert bot.handle(Message("42", "hi", message_id="m1")).duplicate
    assert messenger.actions == [("42", "mark_seen")]
    statements = [s for s in seen if s != "BEGIN"]  # SQLite's BEGIN IMMEDIATE, when watched
    assert statements[0] == "SELECT" and statements[-1] == "SELECT"  # the look-up, twice
    assert bot.handle(Message("42", "again", message_id="m2")).handled
    assert messenger.texts() == ["welcome: hi", "welcome: again"]
