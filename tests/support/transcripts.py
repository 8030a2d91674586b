"""A sample bot project for the transcript tests: rules, a config and transcripts in a folder."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

RULES = """
from chatbotmaker_core import Button, Dispatcher, QuickReply


def pre_func_welcome(user):
    user.send_message("Hello!")


def func_welcome(user, user_input):
    user.change_state("menu")


def pre_func_menu(user):
    user.send_quick_replies("What now?", [QuickReply("Buy", payload="BUY"), "Help"])


def func_menu(user, user_input):
    if user_input == "BUY":
        user.change_state("size")
    elif user_input == "Help":
        user.send_buttons(
            "Help is here.",
            [Button("Call us", payload="CALL"), Button("Site", url="https://example.com")],
        )
    elif user_input == "refund":
        user.change_state("refund")
    elif user_input == "boom":
        raise RuntimeError("kaboom")
    else:
        user.send_message(f"Unknown: {user_input}")


def pre_func_size(user):
    user.send_message("Which size?")


def func_size(user, user_input):
    user.store_argument("size", user_input)
    user.send_message(f"A {user_input} one.")
    user.change_state("menu")


def pre_func_refund(user):
    user.send_message("Refunded.")


def func_refund(user, user_input):
    user.change_state("menu")


RULES = {"actions": {s: Dispatcher.DEFAULT for s in ("welcome", "menu", "size", "refund")}}
"""

BUYS = """
name: buys a large one
steps:
  - say: hi
    expect:
      - Hello!
      - text: What now?
        quick_replies: [{title: Buy, payload: BUY}, Help]
    state: menu
  - tap: Buy
    expect: [Which size?]
    state: size
  - say: large
    expect: ["A large one.", {text: "What now?", quick_replies: [Buy, Help]}]
    args: {size: large}
    state: menu
  - redeliver: true
  - say: Help
    expect:
      - text: Help is here.
        buttons: [{title: Call us, payload: CALL}, {title: Site, url: "https://example.com"}]
"""

WRONG = """
name: wrong size prompt
steps:
  - say: hi
  - say: BUY
    expect: [Which colour?]
    state: colour
"""


def make_shop(folder: Path, module: str = "transcript_shop", url: str | None = None) -> Path:
    """The shop bot in ``folder``: ``<module>.py``, ``chatbotmaker.toml``; returns the config."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(RULES)
    url = url or f"sqlite:///{folder / 'real.db'}"
    config = folder / "chatbotmaker.toml"
    config.write_text(
        dedent(f"""\
        [messenger]
        name = "dev"
        [database]
        name = "sqlalchemy"
        url = "{url}"
        [rules]
        name = "python"
        source = "{module}:RULES"
        """)
    )
    return config


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(dedent(text).lstrip())
    return path
