"""The pizza bot's own table, linked to chatbotmaker's users as in 0.0.13."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, relationship

from chatbotmaker_core import add_relationship, models_for


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)
    size = Column(String(16), nullable=False)
    toppings = Column(String(200), nullable=False)
    user = relationship("User", back_populates="orders")

    def describe(self) -> str:
        return f"a {self.size} pizza with {self.toppings}"


# chatbotmaker's User class on our base, so the relationship can be added at import time.
User = models_for(Base).User
add_relationship(User, "orders", relationship(Order, back_populates="user", order_by=Order.id))
