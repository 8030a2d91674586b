"""The hot path: prebuilt statements run on the driver behave like Connection.execute.

A turn on pysqlite or psycopg runs its own statements on the DBAPI connection unless something
watches them (echo, cursor-execute or error listeners). Both paths must leave the same rows,
raise the same SQLAlchemy exceptions, and the watched path must show every statement. Every
test runs on SQLite and on PostgreSQL.
"""

import uuid

import pytest
from sqlalchemy import event, exc, select

from chatbotmaker_core import Bot, Database, Dispatcher, Message, NullMessenger
from chatbotmaker_core.database.driver import DriverStore
from chatbotmaker_core.database.statements import build_statements
from chatbotmaker_core.database.store import PortableStore, UpsertStore

VALUES = [0, 7, -2.5, "text", "", None, True, [1, "a", None], {"k": [1, {"n": None}]}]


def counting_rules(read: list[list]) -> dict:
    """Rules that store every value of VALUES, recording in ``read`` what each turn read first."""

    def count(user, text):
        read.append([user.get_argument(f"v{index}", "missing") for index in range(len(VALUES))])
        for index, value in enumerate(VALUES):
            user.store_argument(f"v{index}", value)
        user.store_argument("n", user.get_argument("n", 0) + 1)
        user.send_message(str(user.get_argument("n")))
        user.change_state("other" if user.state == "welcome" else "welcome")

    return {"actions": {"welcome": {"func": count}, "other": {"func": count}}}


@pytest.fixture
def second_url(db_url, request, tmp_path):
    """Another fresh database of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path}/second.db"
    server = request.getfixturevalue("postgres_server")
    name = f"test_{uuid.uuid4().hex[:20]}"
    url = server.create_database(name)
    request.addfinalizer(lambda: server.drop_database(name))
    return url


def run_conversation(url, watch, store=None):
    database = Database({"sqlalchemy.url": url})
    if store is not None:  # the implementation another dialect or driver would get
        statements = build_statements(database.models, store[1])
        database.store = store[0](statements)
    seen = []
    if watch:

        @event.listens_for(database.engine, "before_cursor_execute")
        def _seen(conn, cursor, statement, *args):
            seen.append(statement)

    read: list[list] = []
    bot = Bot({}, NullMessenger(), Dispatcher(counting_rules(read)), database)
    if store is None:
        assert isinstance(database.store, DriverStore)  # pysqlite, psycopg: prebuilt statements
    results = [
        bot.handle(Message(user_id=user, text="hi", message_id=mid))
        for user, mid in [("a", "1"), ("b", "2"), ("a", "3"), ("a", "3"), ("a", "4")]
    ]
    handled = database.models.HandledMessage
    with database.session_maker() as session:
        stamps = session.scalars(select(handled.handled_at)).all()
    snapshot = {
        "results": [(r.handled, r.duplicate, [x.text for x in r.replies]) for r in results],
        "a": (database.get_user("a").state, database.get_arguments("a")),
        "b": (database.get_user("b").state, database.get_arguments("b")),
        "stamp_types": {type(stamp).__name__ for stamp in stamps},
        "read": read,
    }
    database.dispose()
    return snapshot, seen


def test_driver_path_and_watched_path_leave_the_same_rows(db_url, second_url):
    fast, unseen = run_conversation(db_url, watch=False)
    watched, seen = run_conversation(second_url, watch=True)
    assert fast == watched
    assert fast["a"] == ("other", {**{f"v{i}": v for i, v in enumerate(VALUES)}, "n": 3})
    assert fast["stamp_types"] == {"datetime"}
    # Each handled turn (a, b, a, a: the redelivered "3" runs no handler) read back what the
    # user's previous turn stored, exactly: nothing on a user's first turn.
    nothing, stored = ["missing"] * len(VALUES), list(VALUES)
    assert fast["read"] == [nothing, nothing, stored, stored]
    assert unseen == []
    # Watched, every statement of the turn goes through Connection.execute.
    if db_url.startswith("sqlite"):
        assert seen.count("BEGIN IMMEDIATE") >= 5
    assert any(s.startswith("INSERT INTO chatbotmaker_handled_messages") for s in seen)
    assert any(s.startswith("SELECT users.id, users.state") for s in seen)
    assert any(s.startswith("UPDATE users SET state") for s in seen)


@pytest.mark.parametrize(
    "store", [(UpsertStore, None), (PortableStore, "other")], ids=["upsert", "portable"]
)
def test_every_store_leaves_the_same_rows(db_url, second_url, store):
    """The store of another driver (``ON CONFLICT`` through Connection.execute) or of another
    dialect (savepoints, update-then-insert) does what the driver's store does."""
    dialect = store[1] or ("sqlite" if db_url.startswith("sqlite") else "postgresql")
    fast, _ = run_conversation(db_url, watch=False)
    other, _ = run_conversation(second_url, watch=False, store=(store[0], dialect))
    assert other == fast


@pytest.mark.parametrize("watch", [False, True])
def test_driver_errors_raise_as_sqlalchemy_errors(db_url, watch):
    database = Database({"sqlalchemy.url": db_url})
    if watch:
        event.listen(database.engine, "handle_error", lambda context: None)
    with pytest.raises(exc.IntegrityError):  # no user 12345: the foreign key refuses it
        with database.engine.begin() as conn:
            database.store.store_argument(conn, 12345, "x", 1)


@pytest.mark.parametrize("watch", [False, True])
def test_a_lost_connection_is_a_database_error_not_a_handler_failure(db_url, watch):
    def func(user, text):
        user.turn._conn.connection.dbapi_connection.close()
        user.get_argument("x")

    database = Database({"sqlalchemy.url": db_url})
    if watch:
        event.listen(database.engine, "handle_error", lambda context: None)
    bot = Bot({}, NullMessenger(), Dispatcher({"actions": {"welcome": {"func": func}}}), database)
    with pytest.raises(exc.DBAPIError) as raised:
        bot.handle(Message(user_id="u", text="hi", message_id="m"))
    assert raised.value.connection_invalidated


@pytest.mark.parametrize("event_name", ["begin", "commit", "engine_connect"])
def test_a_turn_is_seen_by_the_engine_listeners_of_an_application(db_url, event_name):
    """A turn on the driver's own connection skips Engine.connect, Connection.begin and
    commit; an application listening to them gets a turn through them instead."""
    database = Database({"sqlalchemy.url": db_url})
    heard = []
    event.listen(database.engine, event_name, lambda *args: heard.append(event_name))
    bot = Bot({}, NullMessenger(), Dispatcher(counting_rules([])), database)
    for mid in ("1", "2"):
        assert bot.handle(Message(user_id="a", text="hi", message_id=mid)).handled
    assert heard == [event_name, event_name]
    assert database.get_arguments("a")["n"] == 2
