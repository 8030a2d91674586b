"""chatbotmaker (this repository): ``Bot.handle(Message(...))`` with a null messenger.

``Database({"sqlalchemy.url": ...})`` with nothing else: SQLite or PostgreSQL (psycopg 3) as an
application gets them by default.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import chatbotmaker_core
from chatbotmaker_core import Bot, Database, Dispatcher, Message, NullMessenger

from .bot import rules
from .protocol import Worker, populate, serve, sqlalchemy_url


class CountingMessenger(NullMessenger):
    def __init__(self, worker: Worker) -> None:
        self.send = worker.send  # type: ignore[method-assign]


class Ours(Worker):
    name = "chatbotmaker"

    def setup(self, db: str, users: int) -> None:
        database = Database({"sqlalchemy.url": sqlalchemy_url(db)})  # creates the schema
        database.dispose()
        populate(db, users)
        self.bot = Bot({}, CountingMessenger(self), Dispatcher(rules()), database)

    def turn(self, user_id: str, text: str, message_id: str) -> None:
        self.bot.handle(Message(user_id=user_id, text=text, message_id=message_id))

    def versions(self) -> dict[str, str]:
        return {
            "chatbotmaker-core": version("chatbotmaker-core"),
            "chatbotmaker-core-source": str(Path(chatbotmaker_core.__file__).parent),
            "sqlalchemy": version("sqlalchemy"),
        }


if __name__ == "__main__":
    serve(Ours())
