"""Schema versions: a chatbotmaker 0.0.13 database (made by the real 0.0.13 package) and this
project's first schema upgraded without loss, re-running a no-op, our revisions downgraded."""

import subprocess
import venv
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from chatbotmaker_core.database import Database
from chatbotmaker_core.database.migrate import downgrade, head, upgrade
from chatbotmaker_core.database.schema import HEAD, SchemaOutdated, schema_mode
from chatbotmaker_core.errors import ConfigError

MAKE_013 = Path(__file__).parent / "fixtures" / "migrations" / "make_013.py"
SEED = ["chatbotmaker==0.0.13", "sqlalchemy>=2,<2.1", "pymessenger==0.0.7.0", "psycopg[binary]"]


@pytest.fixture(scope="module")
def seed_python(tmp_path_factory):
    home = tmp_path_factory.mktemp("seed-venv")
    venv.create(home, with_pip=True)
    python = home / "bin" / "python"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *SEED],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.fail(f"could not install chatbotmaker 0.0.13: {done.stderr[-2000:]}")
    return python


def rows(url, query):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(query))]
    finally:
        engine.dispose()


def open_for_upgrade(url):
    with schema_mode("upgrade"):
        return Database(url)


@pytest.mark.slow
def test_a_0_0_13_database_is_upgraded_keeping_users_arguments_and_application_rows(
    seed_python, db_url
):
    made = subprocess.run(
        [str(seed_python), str(MAKE_013), db_url], capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stderr
    orders_before = rows(db_url, "SELECT id, item FROM orders ORDER BY id")
    with pytest.raises(
        SchemaOutdated, match=r"made by chatbotmaker 0\.0\.13.*chatbotmaker db upgrade"
    ):
        Database(db_url)

    database = open_for_upgrade(db_url)
    report = upgrade(database)
    database.dispose()
    assert report["from"] == "0.0.13" and report["to"] == HEAD
    assert report["merged"] == [{"fb_id": "ann", "kept": 1, "merged": [3]}]

    database = Database(db_url)  # at head: a bot starts
    try:
        assert [(u, s) for u, s in rows(db_url, "SELECT fb_id, state FROM users ORDER BY id")] == [
            ("ann", "menu"),
            ("bob", "menu"),
        ]
        # string values stay strings; the twin's argument the survivor lacked was kept
        assert database.get_arguments("ann") == {
            "first": "hello",
            "count": "5",
            "choice": "pizza",
            "from_twin": "7",
        }
        assert database.get_arguments("bob") == {"first": "hey", "count": "5", "choice": "stew"}
        # the application's rows are all there, the twin's order now the survivor's
        assert rows(db_url, "SELECT id, item FROM orders ORDER BY id") == orders_before
        assert {r[0] for r in rows(db_url, "SELECT user_id FROM orders")} == {1, 2}
        assert "orders" in inspect(database.engine).get_table_names()
        # erasure: the user, their arguments and the application's rows pointing at them
        from chatbotmaker_core.database.operators import delete_user

        assert delete_user(database, "ann") == {
            "orders": 2,
            "arguments": 4,
            "chatbotmaker_handled_messages": 0,
            "chatbotmaker_transitions": 0,
            "chatbotmaker_delivery_failures": 0,
            "users": 1,
        }
        assert rows(db_url, "SELECT user_id FROM orders") == [(2,)]
        assert database.get_arguments("ann") == {}
    finally:
        database.dispose()
    # the unique constraints are there now
    engine = create_engine(db_url)
    with pytest.raises(Exception, match="(?i)unique"), engine.begin() as conn:
        conn.execute(  # bob again, on bob's channel (revision 0003: unique per channel and id)
            text(
                "INSERT INTO users (channel, fb_id, state) "
                "SELECT channel, fb_id, 'menu' FROM users WHERE fb_id = 'bob'"
            )
        )
    engine.dispose()


def first_schema(url):
    """What main's create_all made before versions existed (captured here as revision 0001)."""
    engine = create_engine(url)
    key = "SERIAL" if url.startswith("postgresql") else "INTEGER"
    statements = [
        f"CREATE TABLE users (id {key} PRIMARY KEY, fb_id VARCHAR(255) NOT NULL, "
        "state VARCHAR(255) NOT NULL)",
        "CREATE UNIQUE INDEX ix_users_fb_id ON users (fb_id)",
        f"CREATE TABLE arguments (id {key} PRIMARY KEY, name VARCHAR(255) NOT NULL, value JSON,"
        " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, "
        "CONSTRAINT uq_arguments_user_name UNIQUE (user_id, name))",
        "CREATE TABLE chatbotmaker_handled_messages (message_id VARCHAR(255) PRIMARY KEY, "
        "handled_at TIMESTAMP WITH TIME ZONE NOT NULL)",
        f"CREATE TABLE chatbotmaker_delivery_failures (id {key} PRIMARY KEY, user_id "
        "VARCHAR(255) NOT NULL, text TEXT NOT NULL, error TEXT NOT NULL, code VARCHAR(64), "
        "failed_at TIMESTAMP WITH TIME ZONE NOT NULL)",
        "INSERT INTO users (id, fb_id, state) VALUES (1, 'ann', 'menu')",
        """INSERT INTO arguments (name, value, user_id) VALUES ('n', '[1, "a"]', 1)""",
        "INSERT INTO chatbotmaker_handled_messages VALUES ('m1', CURRENT_TIMESTAMP)",
    ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def test_the_first_schema_is_upgraded_then_rerunning_is_a_no_op_and_0002_downgrades(db_url):
    first_schema(db_url)
    with pytest.raises(SchemaOutdated, match="first schema.*chatbotmaker db upgrade"):
        Database(db_url)
    database = open_for_upgrade(db_url)
    try:
        report = upgrade(database)
        assert (report["from"], report["to"]) == ("unversioned-first", HEAD)
        assert upgrade(database) == {"from": HEAD, "to": HEAD}
        assert database.get_arguments("ann") == {"n": [1, "a"]}
        assert rows(db_url, "SELECT message_id, user_id FROM chatbotmaker_handled_messages") == [
            ("m1", None)
        ]
        assert downgrade(database, "0001") == (HEAD, "0001")
        names = inspect(database.engine).get_table_names()
        assert "chatbotmaker_transitions" not in names
        columns = inspect(database.engine).get_columns("chatbotmaker_handled_messages")
        assert [c["name"] for c in columns] == ["message_id", "handled_at"]
        with pytest.raises(RuntimeError, match="no version to go back to"):
            downgrade(database, "base")
        assert upgrade(database)["to"] == HEAD
        assert database.get_arguments("ann") == {"n": [1, "a"]}
    finally:
        database.dispose()


def test_a_new_database_is_created_at_head(db_url):
    Database(db_url).dispose()
    assert rows(db_url, "SELECT version_num FROM chatbotmaker_version") == [(HEAD,)]
    assert HEAD == head()
    Database(db_url).dispose()  # and a bot starts on it again


def test_migrations_on_an_empty_database_match_the_models(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    database = open_for_upgrade(db_url)
    try:
        assert upgrade(database) == {"from": None, "to": HEAD}
        with database.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), database.base.metadata)
        assert [d for d in diff if d[0] != "remove_table"] == []  # our version table only
    finally:
        database.dispose()


def test_an_outdated_version_is_refused_naming_the_command(sqlite_url):
    database = open_for_upgrade(sqlite_url)
    upgrade(database, "0001")
    database.dispose()
    with pytest.raises(
        ConfigError, match=rf"schema version 0001, .* needs version {HEAD}.*db upgrade"
    ):
        Database(sqlite_url)


def test_0003_gives_existing_users_their_channel_and_downgrades_when_ids_are_unique(db_url):
    database = open_for_upgrade(db_url)
    try:
        upgrade(database, "0002")
        with database.engine.begin() as conn:
            conn.execute(text("INSERT INTO users (fb_id, state) VALUES ('42', 'menu')"))
        report = upgrade(database, channel="whatsapp")
        assert (report["from"], report["to"], report["channel"]) == ("0002", HEAD, "whatsapp")
        assert rows(db_url, "SELECT channel, fb_id, state, last_message_at FROM users") == [
            ("whatsapp", "42", "menu", None)
        ]
        with database.engine.begin() as conn:  # the same id on another channel: another user
            conn.execute(text("INSERT INTO users (channel, fb_id, state) VALUES ('fb', '42', 'x')"))
        with pytest.raises(RuntimeError, match=r"cannot go back to revision 0002: 1 platform id"):
            downgrade(database, "0002")
        with database.engine.begin() as conn:
            conn.execute(text("DELETE FROM users WHERE channel = 'fb'"))
        assert downgrade(database, "0002") == (HEAD, "0002")
        columns = [c["name"] for c in inspect(database.engine).get_columns("users")]
        assert columns == ["id", "fb_id", "state"]
        with pytest.raises(Exception, match="(?i)unique"):  # one user per id again
            with database.engine.begin() as conn:
                conn.execute(text("INSERT INTO users (fb_id, state) VALUES ('42', 'y')"))
    finally:
        database.dispose()
