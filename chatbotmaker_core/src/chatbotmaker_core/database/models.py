"""The ORM classes: the seed's ``users`` and ``arguments`` tables, plus our bookkeeping.

They are built per declarative base so an application can pass its own base (with its own
tables and foreign keys to ``users.id``), as in 0.0.13.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, relationship

from ..user import UserMixin
from .values import ArgumentValue


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Models:
    User: Any
    Argument: Any
    HandledMessage: Any
    DeliveryFailure: Any
    Transition: Any


def new_base() -> type[DeclarativeBase]:
    return type("Base", (DeclarativeBase,), {})


def models_for(base: Any) -> Models:
    """Our ORM classes on ``base``, defined on first call: ``models_for(Base).User``."""
    existing: Models | None = base.__dict__.get("_chatbotmaker_models")
    if existing is not None:
        return existing

    # ``base`` is the application's, known only at run time: mypy sees these classes as Any.
    class User(UserMixin, base):  # type: ignore[misc]
        """A platform user: ``fb_id`` is the platform's id, ``state`` the state it is in."""

        __tablename__ = "users"
        # a unique index (not a constraint): SQLite adds it without rebuilding the table
        __table_args__ = (Index("uq_users_channel_fb_id", "channel", "fb_id", unique=True),)
        id = Column(Integer, primary_key=True)
        # the messenger the user writes on (a [messengers.<name>] table, or the single
        # [messenger]'s name): the same platform id on two channels is two users
        channel = Column(String(64), nullable=False, default="", server_default="")  # type: ignore[assignment]
        # str on instances, as UserMixin declares for handlers
        fb_id = Column(String(255), nullable=False, index=True)  # type: ignore[assignment]
        state = Column(String(255), nullable=False)  # type: ignore[assignment]
        # when the user's last message was handled: Meta's 24-hour window (Bot.send_message)
        last_message_at = Column(DateTime(timezone=True))  # type: ignore[assignment]
        arguments = relationship("Argument", back_populates="user", lazy="dynamic")

        def __init__(self, fb_id: str | None = None, state: str = "welcome", **kwargs: Any):
            super().__init__(fb_id=fb_id, state=state, **kwargs)

    class Argument(base):  # type: ignore[misc]
        """A per-user key/value pair; values are JSON (str, numbers, lists, dicts...), numbers
        kept exactly on every database (see :mod:`.values`)."""

        __tablename__ = "arguments"
        __table_args__ = (UniqueConstraint("user_id", "name", name="uq_arguments_user_name"),)
        id = Column(Integer, primary_key=True)
        name = Column(String(255), nullable=False)
        value = Column(ArgumentValue)
        user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
        user = relationship("User", uselist=False, back_populates="arguments")

        def __init__(self, name: str | None = None, value: Any = None, **kwargs: Any):
            super().__init__(name=name, value=value, **kwargs)

    class HandledMessage(base):  # type: ignore[misc]
        """Platform message ids already handled: a redelivery finds its id here."""

        __tablename__ = "chatbotmaker_handled_messages"
        message_id = Column(String(255), primary_key=True)
        handled_at = Column(DateTime(timezone=True), nullable=False, default=_now)
        # whose message it was (the platform id), so erasing a user erases their ids too;
        # not indexed: every turn writes a row, erasure is rare (migrations/versions/0002)
        user_id = Column(String(255))

    class DeliveryFailure(base):  # type: ignore[misc]
        """Replies that could not be delivered, for an operator to look at."""

        __tablename__ = "chatbotmaker_delivery_failures"
        id = Column(Integer, primary_key=True)
        user_id = Column(String(255), nullable=False, index=True)
        text = Column(Text, nullable=False)
        error = Column(Text, nullable=False)
        code = Column(String(64))
        failed_at = Column(DateTime(timezone=True), nullable=False, default=_now)

    class Transition(base):  # type: ignore[misc]
        """A state change (``from_state`` is None when a new user enters the first state),
        written in the turn's transaction: the source of ``chatbotmaker stats``."""

        __tablename__ = "chatbotmaker_transitions"
        id = Column(Integer, primary_key=True)
        user_id = Column(String(255), nullable=False, index=True)
        from_state = Column(String(255))
        to_state = Column(String(255), nullable=False)
        at = Column(DateTime(timezone=True), nullable=False, default=_now)

    models = Models(User, Argument, HandledMessage, DeliveryFailure, Transition)
    base._chatbotmaker_models = models
    return models


def create_user_class(base: Any) -> Any:
    """0.0.13's name for ``models_for(base).User`` (one class per base, however often called)."""
    return models_for(base).User


def create_argument_class(base: Any) -> Any:
    """0.0.13's name for ``models_for(base).Argument``."""
    return models_for(base).Argument


def add_relationship(class_to_add: Any, name: str, value: Any) -> None:
    """Add a relationship (or any attribute) ``name`` to a model class, as in 0.0.13."""
    setattr(class_to_add, name, value)
