"""A bot, a plugin and a test written against the public API, type-checked by `make lint`.

Not a pytest module: mypy checks it with the public API's strict flags (pyproject.toml), so an
application or plugin annotated against our names type-checks; a signature that loses its
types, or a name that stops being exported, fails `make lint`. Every line is ordinary user
code: no ``reveal_type``, no ``cast``, no ``Any``. It also runs: ``python public_api.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from chatbotmaker_core import (
    Bot,
    Button,
    ChatbotmakerError,
    ConfigError,
    Database,
    DeliveryError,
    Dispatcher,
    Message,
    Messenger,
    NullMessenger,
    QuickReply,
    RegisterCommand,
    RegisterDatabase,
    RegisterMessenger,
    RegisterRuleSource,
    Reply,
    TurnResult,
    UnknownStateError,
    add_relationship,
    hookimpl,
    models_for,
)
from chatbotmaker_core.testing import BotHarness, RecordingMessenger, registered_plugin
from chatbotmaker_core.user import UserMixin
from chatbotmaker_dev import DevMessenger
from chatbotmaker_facebook import FacebookMessenger, PayloadError, parse_payload

# -- a bot: handlers take the user and the text ------------------------------------------------


def func_welcome(user: UserMixin, user_input: str) -> None:
    name: str | None = user.get_argument("name")
    if name is None:
        user.send_message("What is your name?")
        user.change_state("ask_name")
    else:
        user.send_quick_replies(f"Hello again, {name}!", ["menu", QuickReply("Help", "help")])


def pre_func_ask_name(user: UserMixin) -> None:
    user.store_argument("asked", True)


def func_ask_name(user: UserMixin, user_input: str) -> None:
    user.store_argument("name", user_input)
    user.send_buttons(f"Nice to meet you, {user_input}.", [Button("Open", url="https://x.test")])
    state: str = user.state
    platform_id: str = user.fb_id
    incoming: Message = user.message
    user.send_message(f"{platform_id} was in {state}, said {incoming.text!r}")
    user.change_state("welcome")


RULES: dict[str, object] = {
    "actions": {
        "welcome": {"func": func_welcome},
        "ask_name": Dispatcher.DEFAULT,
    }
}


class PrintingMessenger(Messenger):
    """A third-party messenger: ``send`` is all it must implement."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, user_id: str, text: str) -> None:
        if not text:
            raise DeliveryError("empty text", transient=False)
        self.sent.append(f"{user_id} > {text}")


def run_bot(folder: Path) -> list[str]:
    dispatcher = Dispatcher(RULES, env=globals())
    states: list[str] = dispatcher.states
    database = Database({"sqlalchemy.url": f"sqlite:///{folder / 'bot.db'}"})
    messenger = PrintingMessenger()
    bot = Bot({"initial_state": states[0]}, messenger, dispatcher, database)
    result: TurnResult = bot.handle(Message(user_id="42", text="hi", message_id="m_1"))
    replies: list[Reply] = result.replies
    failure: BaseException | None = result.error
    assert failure is None and result.handled and result.sent == len(replies)
    done: str = bot.user_handle("42", "Ada")
    user = database.get_user("42")
    assert user is not None and user.state == "welcome", done
    models = models_for(database.base)
    add_relationship(models.User, "nickname_hint", None)
    database.dispose()
    return messenger.sent


# -- a plugin: each hook's register callback is typed per kind ---------------------------------


def make_printing(**options: object) -> PrintingMessenger:
    return PrintingMessenger()


def make_rules(**options: object) -> Dispatcher:
    return Dispatcher(RULES, env=globals())


def make_database(url: str = "sqlite://", **options: object) -> Database:
    return Database(url)


def hello_command(args: object) -> int:
    print("hello")
    return 0


class Plugin:
    @hookimpl
    def register_messengers(self, register: RegisterMessenger) -> None:
        register("printing", make_printing)
        register("dev-copy", DevMessenger)

    @hookimpl
    def register_rule_sources(self, register: RegisterRuleSource) -> None:
        register("typed-rules", make_rules)

    @hookimpl
    def register_databases(self, register: RegisterDatabase) -> None:
        register("typed-db", make_database)

    @hookimpl
    def register_commands(self, register: RegisterCommand) -> None:
        register("hello", hello_command, help="say hello")


# -- a test: the harness, errors, the Facebook parser ------------------------------------------


def test_conversation() -> None:
    with BotHarness(RULES, env=globals()) as harness:
        texts: list[str] = harness.say("hi")
        assert texts == ["What is your name?"]
        state: str | None = harness.state
        assert state == "ask_name"
        harness.say("Ada")
        redelivered: TurnResult = harness.redeliver()
        assert redelivered.duplicate
        recorder: RecordingMessenger = harness.messenger
        assert recorder.texts("user")
        user = harness.user()
        assert user is not None and user.fb_id == "user"


def test_errors() -> None:
    try:
        Dispatcher({"actions": {"welcome": {"pref_func": func_welcome}}})
    except ConfigError as error:
        problems: list[str] = error.problems
        assert problems
    try:
        Dispatcher(RULES, env=globals()).check_state("nowhere")
    except UnknownStateError as error:
        assert isinstance(error, ChatbotmakerError)


def test_plugin_and_channels() -> None:
    with registered_plugin(Plugin(), "typed-plugin") as info:
        assert info.name == "typed-plugin"
    facebook = FacebookMessenger("token", app_secret="secret", verify_token="verify")
    messengers: list[Messenger] = [facebook, DevMessenger(), NullMessenger()]
    assert len(messengers) == 3
    messages: list[Message] = parse_payload({"object": "page", "entry": []})
    assert messages == []
    try:
        parse_payload([])
    except PayloadError as error:
        assert "JSON object" in str(error)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        print("\n".join(run_bot(Path(folder))))
    test_conversation()
    test_errors()
    test_plugin_and_channels()
    print("ok")
