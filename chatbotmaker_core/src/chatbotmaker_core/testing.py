"""Helpers for testing bots and plugins.

``BotHarness`` drives a bot by conversation on a throwaway SQLite file::

    harness = BotHarness(RULES, env=vars(rules_module))
    assert harness.say("hi") == ["Welcome! What is your name?"]
    assert harness.state == "ask_name"

``registered_plugin`` registers hook implementations in-process, without installing anything.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .bot import Bot, TurnResult
from .database import Database
from .dispatcher import Dispatcher
from .message import Message, Reply
from .messenger import Messenger
from .plugins import PluginInfo, PluginManager, get_plugin_manager
from .user import UserMixin

__all__ = ["BotHarness", "HandlerError", "RecordingMessenger", "registered_plugin"]


class HandlerError(AssertionError):
    """A handler raised during :meth:`BotHarness.say`; the handler's exception is the cause.

    A test fails on it with the handler's traceback, instead of comparing replies with the
    bot's apology (a missing ``base=`` for the bot's own tables looks like that, for example).
    """


class RecordingMessenger(Messenger):
    """Records what a bot sends: ``sent`` holds ``(user_id, text)`` in order."""

    def __init__(self, channel: str = "default") -> None:
        self.channel = channel  # the bot's name for it (``user.channel``)
        self.sent: list[tuple[str, str]] = []
        self.replies: list[tuple[str, Reply]] = []
        self.actions: list[tuple[str, str]] = []

    def send(self, user_id: str, text: str) -> None:
        self.sent.append((user_id, text))

    def send_reply(self, user_id: str, reply: Reply) -> None:
        self.replies.append((user_id, reply))
        self.send(user_id, reply.as_plain_text())

    def mark_seen(self, user_id: str) -> None:
        self.actions.append((user_id, "mark_seen"))

    def mark_writing(self, user_id: str, on: bool) -> None:
        self.actions.append((user_id, "typing_on" if on else "typing_off"))

    def texts(self, user_id: str | None = None) -> list[str]:
        return [text for uid, text in self.sent if user_id is None or uid == user_id]


class BotHarness:
    """A bot on a throwaway database with a :class:`RecordingMessenger`, driven by ``say``.

    ``rules`` is a dispatcher config (with ``env`` for DEFAULT states) or a ``Dispatcher``.
    ``database_url`` defaults to a new SQLite file in a temporary folder; ``base`` is the
    application's declarative base, if it has tables of its own (the turn's session, and
    relationships such as ``user.orders``, need them); ``database``, a ready
    :class:`Database` instead (the transcript runner builds it through the config's plugin);
    ``channel``, the name of the bot's one channel (default ``"default"``).
    A handler that raises makes ``say``
    raise :class:`HandlerError`, unless ``say(..., allow_errors=True)``.
    """

    def __init__(
        self,
        rules: Mapping[str, Any] | Dispatcher,
        env: Mapping[str, Any] | None = None,
        *,
        user_id: str = "user",
        bot_config: Mapping[str, Any] | None = None,
        database_url: str | None = None,
        base: Any = None,
        database: Database | None = None,
        channel: str | None = None,
    ) -> None:
        self._tmp = None
        if database_url is None and database is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="chatbotmaker-test-")
            database_url = f"sqlite:///{Path(self._tmp.name) / 'bot.db'}"
        dispatcher = rules if isinstance(rules, Dispatcher) else Dispatcher(rules, env=env)
        self.messenger = RecordingMessenger(channel or "default")
        self.database = database or Database({"sqlalchemy.url": database_url}, base=base)
        self.bot = Bot(bot_config or {}, self.messenger, dispatcher, self.database)
        self.user_id = user_id
        self._ids = itertools.count(1)
        self.last: TurnResult | None = None

    def say(
        self,
        text: str,
        *,
        user_id: str | None = None,
        message_id: str | None = None,
        allow_errors: bool = False,
        **message: Any,
    ) -> list[str]:
        """Send ``text`` as the user; returns the texts the bot replied, in order.

        Each call gets a fresh message id unless ``message_id`` is given (to test redelivery).
        A handler that raises (the turn rolled back) raises :class:`HandlerError`, unless
        ``allow_errors`` is true: then the replies (the bot's apology) are returned.
        """
        uid = self.user_id if user_id is None else user_id
        before = len(self.messenger.sent)
        mid = message_id if message_id is not None else f"harness-{next(self._ids)}"
        self.last = self.bot.handle(Message(user_id=uid, text=text, message_id=mid, **message))
        error = self.last.error
        if error is not None and not allow_errors:
            user = self.user(uid)
            raise HandlerError(
                f"a handler failed on {text!r} from user {uid!r} in state "
                f"{None if user is None else user.state!r} (turn rolled back): "
                f"{type(error).__name__}: {error}; say(..., allow_errors=True) to get the "
                f"apology instead"
            ) from error
        return [t for _, t in self.messenger.sent[before:]]

    def redeliver(self) -> TurnResult:
        """Deliver the last message again, same id, as a platform retry does; asserts that
        nothing happened: no reply, no handler, state and arguments unchanged."""
        if self.last is None:
            raise AssertionError("redeliver(): nothing was said yet")
        message = self.last.message
        state, arguments = self.user_state(message.user_id), self._arguments(message.user_id)
        before = len(self.messenger.sent)
        result = self.bot.handle(message)
        got = [t for _, t in self.messenger.sent[before:]]
        problems = []
        if not result.duplicate:
            problems.append("it was handled again")
        if got:
            problems.append(f"it was answered {got}")
        if self.user_state(message.user_id) != state:
            problems.append(f"the state changed to {self.user_state(message.user_id)!r}")
        if self._arguments(message.user_id) != arguments:
            problems.append("the arguments changed")
        if problems:
            raise AssertionError(
                f"redelivering message {message.message_id!r} ({message.text!r}): "
                + "; ".join(problems)
            )
        return result

    def say_concurrently(
        self, texts: list[str], *, user_id: str | None = None, copies: int = 1
    ) -> list[TurnResult]:
        """Deliver ``texts`` from one thread each, all at once (each ``copies`` times with the
        same id: a redelivery racing the original); asserts each was handled exactly once,
        the user's turns never interleaved and the replies came in commit order."""
        from .transcripts.concurrency import deliver_concurrently

        uid = self.user_id if user_id is None else user_id
        messages = [
            Message(user_id=uid, text=text, message_id=f"harness-{next(self._ids)}")
            for text in texts
        ]
        return deliver_concurrently(self, [m for m in messages for _ in range(copies)])

    def user_state(self, user_id: str) -> str | None:
        user = self.user(user_id)
        return None if user is None else user.state

    def _arguments(self, user_id: str) -> dict[str, Any]:
        return self.database.get_arguments(user_id)

    def user(self, user_id: str | None = None) -> UserMixin | None:
        return self.database.get_user(self.user_id if user_id is None else user_id)

    @property
    def state(self) -> str | None:
        """The state the harness's user is in (``None`` before its first message)."""
        user = self.user()
        return None if user is None else user.state

    @property
    def arguments(self) -> dict[str, Any]:
        """The harness's user's arguments, as a dict."""
        return self.database.get_arguments(self.user_id)

    def close(self) -> None:
        self.database.dispose()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> BotHarness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def registered_plugin(
    plugin: object,
    name: str = "test-plugin",
    *,
    distribution: str | None = None,
    manager: PluginManager | None = None,
) -> Iterator[PluginInfo]:
    """Register ``plugin`` (a module or object with ``@hookimpl`` functions) for the block."""
    manager = manager or get_plugin_manager()
    info = PluginInfo(
        name=name,
        module=getattr(plugin, "__name__", repr(plugin)),
        distribution=distribution or name,
    )
    manager.add(plugin, info)
    try:
        yield info
    finally:
        manager.remove(plugin)
