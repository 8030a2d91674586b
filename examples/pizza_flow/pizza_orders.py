"""What the pizza flow cannot say in YAML: the orders table, reached through ``call``."""

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


User = models_for(Base).User
add_relationship(User, "orders", relationship(Order, back_populates="user", order_by=Order.id))


def place_order(user, user_input):
    """``call`` from the route that confirms: one row, and the count of orders placed."""
    user.orders.append(
        Order(size=user.get_argument("size"), toppings=user.get_argument("toppings"))
    )
    user.store_argument("orders_placed", user.get_argument("orders_placed", 0) + 1)


def list_orders(user, user_input):
    """``call`` from the route ``history``: one message per order."""
    if not user.orders:
        user.send_message("You have not ordered yet.")
    for number, order in enumerate(user.orders, 1):
        user.send_message(f"Order {number}: {order.describe()}")
