"""The ``Database`` component: an engine, the ORM classes and the turn's Core statements."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, engine_from_config, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from .driver import DriverStore, has_fast_path
from .idle_ping import install as install_idle_ping
from .models import (
    Models,
    add_relationship,
    create_argument_class,
    create_user_class,
    models_for,
    new_base,
)
from .schema import prepare
from .sqlite import BUSY_TIMEOUT, configure_sqlite
from .startup import check_base, connect_error, engine_error, parse_url, sqlite_folder_error
from .statements import build_statements
from .store import PortableStore, Store, UpsertStore

if TYPE_CHECKING:
    from ..user import UserMixin

__all__ = ["Database", "add_relationship", "create_argument_class", "create_user_class"]

log = logging.getLogger(__name__)

#: the PostgreSQL advisory lock key held while creating tables (ours and the queue's)
SCHEMA_LOCK = 72210357
#: seconds a new PostgreSQL connection may take before it fails
CONNECT_TIMEOUT = 10


class Database:
    """Users, their state and arguments, on any SQLAlchemy URL.

    ``config`` is an ``engine_from_config`` dict (``{"sqlalchemy.url": "sqlite:///bot.db"}``)
    or a URL string. ``base`` is the application's declarative base when it has tables of its
    own; ours are added to it, and ``create_all`` creates both. ``busy_timeout`` (SQLite
    only, ``[database] busy_timeout``): seconds a turn waits for the write lock before it
    fails as a database error (default 3).

    A URL, driver, base or database that cannot work raises a one-line ``ConfigError`` here,
    at start-up, naming the fix (``startup.py``), rather than failing the first turn.
    """

    def __init__(
        self,
        config: Mapping[str, Any] | str,
        base: Any = None,
        *,
        busy_timeout: float | None = None,
    ) -> None:
        lock_wait = busy_timeout_seconds(busy_timeout)
        options: dict[str, Any] = (
            {"sqlalchemy.url": config} if isinstance(config, str) else dict(config)
        )
        url = parse_url(options.get("sqlalchemy.url"))
        backend = url.get_backend_name()
        # A server can restart under us; a SQLite file cannot, so it is spared the ping.
        options.setdefault("sqlalchemy.pool_pre_ping", backend != "sqlite")
        extra: dict[str, Any] = {}
        if backend == "postgresql":
            # A connect attempt caught by a server restart must fail, not hang a turn for ever.
            extra["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
        self.base = new_base() if base is None else check_base(base)
        try:
            self.engine = engine_from_config(options, prefix="sqlalchemy.", **extra)
        except Exception as error:  # a missing driver, an unknown dialect
            known = engine_error(url, error)
            if known is None:
                raise
            raise known from None
        install_idle_ping(self.engine)  # psycopg: no round trip for a quiet pooled connection
        if self.engine.dialect.name == "sqlite":
            problem = sqlite_folder_error(url)
            if problem is not None:
                raise problem
            configure_sqlite(self.engine, lock_wait)
        elif busy_timeout is not None:
            log.warning(
                "[database] busy_timeout is SQLite's lock wait; ignored for %s (remove it)",
                self.engine.dialect.name,
            )
        self.models: Models = models_for(self.base)
        self.user_class = self.models.User
        self.argument_class = self.models.Argument
        try:
            self._create_tables()
        except DBAPIError as error:
            self.engine.dispose()
            raise connect_error(url, error) from None
        self.session_maker = sessionmaker(bind=self.engine)
        self.store: Store = make_store(self.engine, self.models)
        self._session: ContextVar[Session | None] = ContextVar("chatbotmaker_session", default=None)

    def _create_tables(self) -> None:
        with self.schema_transaction() as conn:
            prepare(self, conn)  # new: created at head; outdated: refused (schema.py)

    @contextmanager
    def schema_transaction(self) -> Iterator[Connection]:
        """A transaction for creating tables, one process at a time: on PostgreSQL, processes
        starting together on a new database would otherwise race on ``CREATE TABLE``."""
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            yield conn

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def session(self) -> Session | None:
        """The ORM session of the turn running in this context (``None`` outside a turn).

        Objects a handler adds to it commit, or roll back, with the turn.
        """
        return self._session.get()

    def turn_session(self, connect: Callable[[], Connection]) -> TurnSessionScope:
        """``with database.turn_session(connect) as session``: an ORM session joined to the
        turn's connection and transaction, which ``connect`` gives when the session first
        needs it (``turnconn.py``)."""
        return TurnSessionScope(self._session, connect)

    # -- the 0.0.13 API, for scripts that manage their own session --------------------------

    def create_session(self) -> Session:
        session = self.session_maker()
        self._session.set(session)
        return session

    def close_session(self, commit: bool = True) -> None:
        session = self._session.get()
        if session is None:
            raise RuntimeError("close_session() called but no session is open")
        if commit:
            session.commit()
        session.close()
        self._session.set(None)

    # -- reading, for tests, tools and operators ---------------------------------------------

    def get_user(self, fb_id: str, channel: str | None = None) -> UserMixin | None:
        """The user with this platform id (on ``channel``; None: on any, the first made),
        detached, or ``None``."""
        users = self.user_class
        query = select(users).where(users.fb_id == fb_id).order_by(users.id)
        if channel is not None:
            query = query.where(users.channel == channel)
        with self.session_maker() as session:
            user = session.scalars(query).first()
            if user is not None:
                session.expunge(user)
            return user

    def get_arguments(self, fb_id: str, channel: str | None = None) -> dict[str, Any]:
        """All arguments of a user (on ``channel``; None: of the first user with that id)."""
        users, arguments = self.user_class.__table__, self.argument_class.__table__
        user = select(users.c.id).where(users.c.fb_id == fb_id)
        if channel is not None:
            user = user.where(users.c.channel == channel)
        query = select(arguments.c.name, arguments.c.value).where(
            arguments.c.user_id == user.order_by(users.c.id).limit(1).scalar_subquery()
        )
        with self.engine.connect() as conn:
            return {name: value for name, value in conn.execute(query)}

    def dispose(self) -> None:
        """Close every pooled connection (at shutdown, or after fork)."""
        self.engine.dispose()


class TurnSession(Session):
    """A turn's session whose connection is made when the ORM first runs a statement: most
    turns never do, and a turn on the driver's own connection then makes none."""

    def __init__(self, connect: Callable[[], Connection]) -> None:
        super().__init__(autoflush=True, expire_on_commit=False)
        self._connect = connect

    def get_bind(self, *args: Any, **kwargs: Any) -> Connection:
        return self._connect()


class TurnSessionScope:
    """A turn's session, current (``Database.session``) while the turn runs; closed after.

    A class rather than a ``@contextmanager`` generator: entered on every turn.
    """

    __slots__ = ("_current", "_connect", "_session", "_token")

    def __init__(
        self, current: ContextVar[Session | None], connect: Callable[[], Connection]
    ) -> None:
        self._current = current
        self._connect = connect

    def __enter__(self) -> Session:
        session = self._session = TurnSession(self._connect)
        self._token = self._current.set(session)
        return session

    def __exit__(self, *exc_info: object) -> None:
        self._current.reset(self._token)
        self._session.close()


def make_store(engine: Engine, models: Models) -> Store:
    """The turn's store for ``engine``'s dialect and driver, chosen once (``store.py``)."""
    statements = build_statements(models, engine.dialect.name)
    if statements.upsert_claim is None:
        return PortableStore(statements)
    if has_fast_path(engine.dialect):
        return DriverStore(statements, engine.dialect, watched=UpsertStore(statements))
    return UpsertStore(statements)


def busy_timeout_seconds(value: Any) -> float:
    """The SQLite lock wait in seconds, checked: a wrong value fails at start-up."""
    if value is None:
        return BUSY_TIMEOUT
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 3600:
        from ..errors import ConfigError

        raise ConfigError(
            f"[database] busy_timeout must be a number of seconds from 0 to 3600 (keep it "
            f"under 20 - [bot] send_deadline for a webhook, e.g. 3), got {value!r}"
        )
    return float(value)
