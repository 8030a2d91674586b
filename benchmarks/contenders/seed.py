"""chatbotmaker 0.0.13 from the package registry, in its own virtualenv: ``bot.user_handle``.

0.0.13 has no message ids (it does not dedupe), so the id is dropped. It gets its database the
way an application gives it one, ``Database({"sqlalchemy.url": ...})``: a SQLite file or a
PostgreSQL URL (``postgresql+psycopg://``, psycopg 3 installed in its virtualenv). On SQLite its
engine gets the same settings as the others (WAL, ``synchronous=NORMAL``) unless
``CBM_SEED_PRAGMAS=library`` leaves it SQLite's defaults (``synchronous=FULL``), as 0.0.13
itself does.
"""

from __future__ import annotations

import os
import warnings
from importlib.metadata import version
from typing import Any

warnings.simplefilter("ignore")  # 0.0.13 uses APIs that SQLAlchemy 2 deprecates

from chatbotmaker import Bot, Database, Dispatcher, Messenger  # noqa: E402
from sqlalchemy import event  # noqa: E402

from .bot import rules  # noqa: E402
from .protocol import Worker, is_postgres, populate, serve, sqlalchemy_url  # noqa: E402


class CountingMessenger(Messenger):
    def __init__(self, worker: Worker) -> None:
        self.send = worker.send  # type: ignore[method-assign]


class Seed(Worker):
    name = "chatbotmaker 0.0.13"

    def setup(self, db: str, users: int) -> None:
        database = Database({"sqlalchemy.url": sqlalchemy_url(db)})  # creates the schema
        database.engine.dispose()
        populate(db, users)
        if not is_postgres(db) and os.environ.get("CBM_SEED_PRAGMAS", "same") == "same":

            @event.listens_for(database.engine, "connect")
            def _pragmas(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.execute("PRAGMA synchronous=NORMAL")

        self.bot = Bot({}, CountingMessenger(self), Dispatcher(rules()), database)

    def turn(self, user_id: str, text: str, message_id: str) -> None:
        self.bot.user_handle(user_id, text)

    def versions(self) -> dict[str, str]:
        return {"chatbotmaker": version("chatbotmaker"), "sqlalchemy": version("sqlalchemy")}


if __name__ == "__main__":
    serve(Seed())
