"""The pizza bot's states: all four handler kinds, arguments, DEFAULT binding, a table."""

from __future__ import annotations

from pizza_models import Order

from chatbotmaker_core import Dispatcher

SIZES = ("small", "medium", "large")


def show_menu(user):
    user.send_quick_replies(
        "What would you like? (order, history, help)", ["order", "history", "help"]
    )


def menu(user, user_input):
    choice = user_input.strip().lower()
    if choice == "order":
        user.change_state("size")
    elif choice == "history":
        orders = user.orders
        if not orders:
            user.send_message("You have not ordered yet.")
        for number, order in enumerate(orders, 1):
            user.send_message(f"Order {number}: {order.describe()}")
    elif choice == "help":
        user.change_state("help")
    else:
        user.send_message(f"Sorry, I don't know {user_input!r}.")


def size(user, user_input):
    choice = user_input.strip().lower()
    if choice not in SIZES:
        user.send_message("Please pick small, medium or large.")
        return
    user.store_argument("size", choice)
    user.change_state("toppings")


def toppings(user, user_input):
    user.store_argument("toppings", user_input.strip() or "cheese")
    user.change_state("confirm")


def summarise(user):
    user.send_message(
        f"A {user.get_argument('size')} pizza with {user.get_argument('toppings')}. Confirm? (yes/no)"
    )


def confirm(user, user_input):
    if user_input.strip().lower() in ("yes", "y"):
        user.orders.append(
            Order(size=user.get_argument("size"), toppings=user.get_argument("toppings"))
        )
        user.store_argument("orders_placed", user.get_argument("orders_placed", 0) + 1)
        user.send_message("Order placed! It will be ready in 20 minutes.")
    else:
        user.send_message("Order cancelled.")
    user.change_state("menu")


def forget_draft(user):
    user.store_argument("size", None)
    user.store_argument("toppings", None)


# The help state is bound by name (Dispatcher.DEFAULT): func_help, enter_func_help.
def func_help(user, user_input):
    user.change_state("menu")


def enter_func_help(user):
    user.send_message("I take pizza orders. Type anything to go back to the menu.")


RULES = {
    "actions": {
        "welcome": {
            "pre_func": lambda user: user.send_message("Welcome to Pizza Bot!"),
            "func": lambda user, user_input: user.change_state("menu"),
        },
        "menu": {"func": menu, "enter_func": show_menu},
        "size": {
            "func": size,
            "enter_func": lambda user: user.send_message("Which size? small, medium or large"),
        },
        "toppings": {
            "func": toppings,
            "enter_func": lambda user: user.send_message("Which toppings?"),
        },
        "confirm": {"pre_func": summarise, "func": confirm, "post_func": forget_draft},
        "help": Dispatcher.DEFAULT,
    }
}
