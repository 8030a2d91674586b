"""Why a database cannot be used at start-up, each as one line naming the fix.

SQLAlchemy reports a bad URL, a missing driver or a refused connection as a traceback several
screens long, the cause on its last line. A bot's operator needs the cause and what to do:
which extra to install, which folder is missing, which server did not answer. The password of
a URL never appears in these messages.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import URL, MetaData, make_url
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from ..errors import ConfigError

URL_EXAMPLES = "sqlite:///bot.db or postgresql+psycopg://user:password@host:5432/dbname"
POSTGRES_HINT = (
    "pip install 'chatbotmaker-core[postgres]' (psycopg 3) and write the URL as "
    "postgresql+psycopg://user:password@host:5432/dbname"
)
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


def redact(text: str) -> str:
    """``text`` (a URL that may not parse) with any password replaced by ``***``."""
    return _PASSWORD.sub(r"\1***@", text)


def parse_url(value: Any) -> URL:
    """The URL, or a ConfigError showing what was given (password hidden) and examples."""
    if not isinstance(value, (str, URL)) or not str(value).strip():
        raise ConfigError(
            f"[database] url is missing or not a string (got {value!r}); "
            f"write it like {URL_EXAMPLES}"
        )
    try:
        return make_url(value)
    except (ArgumentError, ValueError, TypeError):
        raise ConfigError(
            f"[database] url {redact(str(value))!r} is not a database URL; "
            f"write it like {URL_EXAMPLES}"
        ) from None


def engine_error(url: URL, error: Exception) -> ConfigError | None:
    """The one-line form of an error from making the engine (no connection yet), if known."""
    shown = url.render_as_string(hide_password=True)
    if isinstance(error, NoSuchModuleError):
        return ConfigError(
            f"[database] url {shown!r}: unknown database kind {url.drivername!r}; "
            f"use {URL_EXAMPLES}"
        )
    if isinstance(error, ImportError):
        backend = url.get_backend_name()
        if backend == "postgresql":
            return ConfigError(
                f"[database] the PostgreSQL driver for {url.drivername}:// is not installed "
                f"({error}); {POSTGRES_HINT}"
            )
        return ConfigError(
            f"[database] the {backend} driver for {url.drivername}:// is not installed ({error});"
            f" chatbotmaker is tested on SQLite (built in) and PostgreSQL ({POSTGRES_HINT}); "
            f"for {backend}, pip install the driver SQLAlchemy names"
        )
    return None


def sqlite_folder_error(url: URL) -> ConfigError | None:
    """A SQLite file whose folder does not exist: SQLite says only 'unable to open'."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    folder = Path(database).parent
    if folder.is_dir():
        return None
    return ConfigError(
        f"[database] the folder of the SQLite file {database!r} does not exist; "
        f"create it (mkdir -p {folder}) or fix the url"
    )


def connect_error(url: URL, error: DBAPIError) -> ConfigError:
    """A database that refused us at start-up: server down, wrong name or credentials."""
    shown = url.render_as_string(hide_password=True)
    cause = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
    if url.get_backend_name() == "sqlite":
        hint = "check the file's folder and permissions, or fix the url"
    else:
        hint = "is the server running, and are the host, port, user, password and database right?"
    return ConfigError(f"[database] cannot use the database {shown}: {cause}; {hint}")


def check_base(base: Any) -> Any:
    """``base`` if it is a SQLAlchemy declarative base (unmapped), else a ConfigError."""
    if (
        isinstance(base, type)
        and isinstance(getattr(base, "metadata", None), MetaData)
        and getattr(base, "registry", None) is not None
        and sa_inspect(base, raiseerr=False) is None  # a mapped model is not a base
    ):
        return base
    raise ConfigError(
        f"[database] base must be a SQLAlchemy declarative base (class Base(DeclarativeBase)"
        f" or declarative_base()), got {_describe(base)}; point base at that class, "
        f"or leave it out"
    )


def _describe(value: Any) -> str:
    if isinstance(value, type):
        return f"the class {value.__module__}.{value.__qualname__}"
    return f"a {type(value).__name__} ({value!r:.60})"
