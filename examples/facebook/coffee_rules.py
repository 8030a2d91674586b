"""A small coffee-order bot showing what Messenger adds: quick replies, buttons, attachments.

The same rules run in the terminal (``chatbotmaker chat``), where quick replies and buttons
fall back to a numbered list and the user types the option instead of tapping it.
"""

from chatbotmaker_core import Button, Dispatcher

DRINKS = ("Espresso", "Cappuccino", "Flat white")
SIZES = ("Small", "Large")


def func_welcome(user, user_input):
    user.change_state("menu")


def enter_func_menu(user):
    user.send_buttons(
        "What can I get you?",
        [Button("Order a coffee", payload="ORDER"), Button("Opening hours", payload="HOURS")],
    )


def func_menu(user, user_input):
    choice = user_input.strip().upper()
    if choice in ("ORDER", "ORDER A COFFEE", "1"):
        user.change_state("drink")
    elif choice in ("HOURS", "OPENING HOURS", "2"):
        user.send_message("We are open every day from 7:00 to 19:00.")
    elif user.message.attachments:
        # A photo, a file, a shared link: user_input is "" and the attachments are here.
        user.send_message("Nice! I can only read text for now.")
    else:
        user.send_message("Tap a button, or type ORDER.")


def pre_func_drink(user):
    user.send_quick_replies("Which drink?", DRINKS)


def func_drink(user, user_input):
    drink = _pick(user_input, DRINKS)
    if drink is None:
        user.send_quick_replies("Please pick one of these:", DRINKS)
        return
    user.store_argument("drink", drink)
    user.change_state("size")


def pre_func_size(user):
    user.send_quick_replies("Which size?", SIZES)


def func_size(user, user_input):
    size = _pick(user_input, SIZES)
    if size is None:
        user.send_quick_replies("Small or large?", SIZES)
        return
    drink = user.get_argument("drink")
    user.send_message(f"One {size.lower()} {drink.lower()} coming up! ☕")
    user.change_state("menu")


def _pick(user_input, options):
    """The option typed or tapped (its title is its payload), or its number."""
    text = user_input.strip().lower()
    for number, option in enumerate(options, 1):
        if text in (option.lower(), str(number)):
            return option
    return None


RULES = {
    "actions": {
        "welcome": Dispatcher.DEFAULT,
        "menu": Dispatcher.DEFAULT,
        "drink": Dispatcher.DEFAULT,
        "size": Dispatcher.DEFAULT,
    }
}
