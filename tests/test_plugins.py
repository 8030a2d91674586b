"""The plugin system, in-process: lookup by name, load failures, conflicts, broken hooks.

Plugins are registered with :func:`chatbotmaker_core.testing.registered_plugin`, on a fresh
:class:`PluginManager` or on the process-wide one (which ``Bot.from_config`` uses). Entry-point
discovery runs against fake distributions (``*.dist-info`` folders) in a temporary folder, with
the real installed ones hidden, so the names it finds are exactly the test's.
``tests/test_installed_plugins.py`` does the same with real wheels in a real virtualenv.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chatbotmaker_core import (
    Bot,
    ConfigError,
    Messenger,
    NullMessenger,
    PluginConflictError,
    UnknownPluginError,
    hookimpl,
)
from chatbotmaker_core.cli import main as cli_main
from chatbotmaker_core.plugins import PluginInfo, PluginManager, reset_plugin_manager
from chatbotmaker_core.testing import registered_plugin

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "plugins"
ACME = REPO / "examples" / "acme_messenger"


class MemoMessenger(Messenger):
    """Remembers what it sends; ``prefix`` comes from the ``[messenger]`` table."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.sent: list[tuple[str, str]] = []

    def send(self, user_id: str, text: str) -> None:
        self.sent.append((user_id, self.prefix + text))


def messenger_plugin(*names: str, factory: Callable[..., Any] = MemoMessenger) -> object:
    """A plugin object (not a module) whose hook registers ``factory`` under each name."""

    class Plugin:
        @hookimpl
        def register_messengers(self, register: Callable[[str, Any], None]) -> None:
            for name in names:
                register(name, factory)

    return Plugin()


class FailingPlugin:
    """A plugin whose ``register_messengers`` raises, as one missing its settings might."""

    @hookimpl
    def register_messengers(self, register: Callable[[str, Any], None]) -> None:
        raise RuntimeError("ACME_API_KEY is not set")


@pytest.fixture
def default_manager() -> Iterator[None]:
    """A fresh process-wide plugin manager for the test, forgotten after it."""
    reset_plugin_manager()
    yield
    reset_plugin_manager()


@pytest.fixture
def bot_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A config dict (DESIGN §6 shape) on a SQLite file; ``[messenger]`` is the test's to set."""
    monkeypatch.syspath_prepend(str(FIXTURES))
    return {
        "messenger": {"name": "dev"},
        "database": {"name": "sqlalchemy", "url": f"sqlite:///{tmp_path / 'bot.db'}"},
        "rules": {"name": "python", "source": "plugin_echo_rules:RULES"},
    }


def test_bot_from_config_finds_an_in_process_plugin_by_name(
    default_manager: None, bot_config: dict[str, Any]
) -> None:
    bot_config["messenger"] = {"name": "memo", "prefix": "memo: "}
    plugin = messenger_plugin("memo")
    with registered_plugin(plugin, "memo", distribution="chatbotmaker-memo") as info:
        bot = Bot.from_config(bot_config)
        assert info.registers == {"messenger": ["memo"]}
    try:
        bot.user_handle("42", "hi")
        bot.user_handle("42", "again")
        # The factory got the table's options without `name`.
        assert isinstance(bot.messenger, MemoMessenger)
        assert bot.messenger.sent == [("42", "memo: hello 42!"), ("42", "memo: #1 again")]
    finally:
        bot.database.dispose()

    # Outside the block the plugin is gone again.
    with pytest.raises(UnknownPluginError, match=r"^unknown messenger 'memo'; available: "):
        Bot.from_config(bot_config)


def test_a_plugin_module_is_found_by_name(
    default_manager: None,
    bot_config: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The acme example's plugin module, as its entry point would load it once installed."""
    monkeypatch.syspath_prepend(str(ACME / "src"))
    acme_plugin = importlib.import_module("chatbotmaker_acme.plugin")
    outbox = tmp_path / "outbox.jsonl"
    bot_config["messenger"] = {"name": "acme", "path": str(outbox), "prefix": "[acme] "}

    with registered_plugin(acme_plugin, "acme", distribution="chatbotmaker-acme"):
        bot = Bot.from_config(bot_config)
    try:
        bot.user_handle("u1", "hi")
        bot.user_handle("u1", "ping")
    finally:
        bot.database.dispose()
    assert [json.loads(line) for line in outbox.read_text().splitlines()] == [
        {"to": "u1", "text": "[acme] hello u1!"},
        {"to": "u1", "text": "[acme] #1 ping"},
    ]


def test_bad_options_for_a_plugin_factory_are_a_config_error(
    default_manager: None, bot_config: dict[str, Any]
) -> None:
    bot_config["messenger"] = {"name": "memo", "prefx": "typo"}
    with registered_plugin(messenger_plugin("memo"), "memo"):
        with pytest.raises(ConfigError) as caught:
            Bot.from_config(bot_config)
    # The message names the table, the plugin and the option, and what it accepts.
    message = str(caught.value)
    assert message.startswith("[messenger] ")
    assert "'prefx'" in message and "'memo'" in message and "prefix" in message


def test_registered_plugin_on_a_fresh_manager_leaves_no_trace() -> None:
    manager = PluginManager()
    with registered_plugin(messenger_plugin("memo"), "memo", manager=manager) as info:
        assert manager.factory("messenger", "memo") is MemoMessenger
        assert manager.plugins == [info]
        assert info.as_dict() == {
            "entry_point": "memo",
            "module": info.module,
            "distribution": "memo",
            "version": None,
            "registers": {"messenger": ["memo"]},
            "error": None,
            "disabled": False,
        }
    assert manager.plugins == []
    with pytest.raises(UnknownPluginError) as caught:
        manager.factory("messenger", "memo")
    assert str(caught.value) == "unknown messenger 'memo'; available: none"


@pytest.mark.parametrize(
    ("kind", "name", "message"),
    [
        ("database", "postgres", "unknown database 'postgres'; available: sqlalchemy"),
        ("rule_source", "yaml", "unknown rule_source 'yaml'; available: flow, python"),
    ],
)
def test_unknown_name_of_each_kind(kind: str, name: str, message: str) -> None:
    import chatbotmaker_core.plugins.builtin as core_plugin

    manager = PluginManager()
    with registered_plugin(core_plugin, "core", manager=manager):
        with pytest.raises(UnknownPluginError) as caught:
            manager.factory(kind, name)
    assert str(caught.value) == message
    assert (caught.value.kind, caught.value.name) == (kind, name)


# -- entry-point discovery against fake installed distributions ---------------------------------


class FakeSite:
    """A folder of ``*.dist-info`` distributions and their modules, first on ``sys.path``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def install(self, distribution: str, version: str, entry_point: str, source: str) -> str:
        """Install a distribution whose entry point ``entry_point`` names a new module holding
        ``source``; returns the module's name."""
        module = f"cbm_fake_{entry_point.replace('-', '_')}"
        (self.root / f"{module}.py").write_text(source)
        dist_info = self.root / f"{distribution.replace('-', '_')}-{version}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
        )
        (dist_info / "entry_points.txt").write_text(f"[chatbotmaker]\n{entry_point} = {module}\n")
        return module


def _holds_distributions(entry: str) -> bool:
    folder = Path(entry or ".")
    return folder.is_dir() and any(
        child.suffix in (".dist-info", ".egg-info") for child in folder.iterdir()
    )


@pytest.fixture
def fake_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSite]:
    """Entry-point discovery sees only the distributions the test installs in a ``FakeSite``."""
    root = tmp_path / "site-packages"
    root.mkdir()
    visible = [entry for entry in sys.path if not _holds_distributions(entry)]
    monkeypatch.setattr(sys, "path", [str(root), *visible])
    importlib.invalidate_caches()
    yield FakeSite(root)
    for name in [name for name in sys.modules if name.startswith("cbm_fake_")]:
        del sys.modules[name]


def registers(name: str) -> str:
    """Source of a plugin module registering messenger ``name``."""
    return (
        "from chatbotmaker_core import NullMessenger, hookimpl\n\n\n"
        "@hookimpl\n"
        "def register_messengers(register):\n"
        f"    register({name!r}, NullMessenger)\n"
    )


def test_unknown_name_lists_available_names_and_plugins_that_failed_to_load(
    fake_site: FakeSite,
) -> None:
    fake_site.install("chatbotmaker-dev", "0.1.0", "dev", registers("dev"))
    fake_site.install("chatbotmaker-facebook", "0.1.0", "facebook", registers("facebook"))
    acme_module = fake_site.install(
        "chatbotmaker-acme", "2.0.0", "acme", 'raise ImportError("acme-sdk is not installed")\n'
    )
    manager = PluginManager()
    manager.load_entry_points()

    with pytest.raises(UnknownPluginError) as caught:
        manager.factory("messenger", "facebok")
    assert str(caught.value) == (
        "unknown messenger 'facebok'; available: dev, facebook; "
        "failed to load: acme (ImportError: acme-sdk is not installed)"
    )
    assert caught.value.available == ["dev", "facebook"]
    assert manager.failed == [
        PluginInfo(
            name="acme",
            module=acme_module,
            distribution="chatbotmaker-acme",
            version="2.0.0",
            error="ImportError: acme-sdk is not installed",
        )
    ]
    # The broken plugin harms nothing: the others load and build their components.
    assert isinstance(manager.factory("messenger", "dev")(), NullMessenger)
    assert {p.name: p.registers for p in manager.plugins} == {
        "acme": {},
        "dev": {"messenger": ["dev"]},
        "facebook": {"messenger": ["facebook"]},
    }


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("import acme_sdk_that_is_not_installed\n", "ModuleNotFoundError: No module named"),
        ("def broken(:\n", "SyntaxError: "),
        ('raise RuntimeError("no config")\n', "RuntimeError: no config"),
    ],
    ids=["missing-dependency", "syntax-error", "raises-at-import"],
)
def test_any_import_failure_is_recorded_not_raised(
    fake_site: FakeSite, source: str, error: str
) -> None:
    fake_site.install("chatbotmaker-good", "1.0", "good", registers("good"))
    fake_site.install("chatbotmaker-bad", "1.0", "bad", source)
    manager = PluginManager()
    manager.load_entry_points()

    [failed] = manager.failed
    assert (failed.name, failed.distribution, failed.version) == ("bad", "chatbotmaker-bad", "1.0")
    assert failed.error is not None and failed.error.startswith(error)
    assert sorted(manager.components("messenger")) == ["good"]


def test_a_hookimpl_with_a_wrong_signature_is_recorded_not_raised(fake_site: FakeSite) -> None:
    fake_site.install("chatbotmaker-good", "1.0", "good", registers("good"))
    fake_site.install(
        "chatbotmaker-typo",
        "1.0",
        "typo",
        "from chatbotmaker_core import hookimpl\n\n\n"
        "@hookimpl\n"
        "def register_messengers(registry):\n"
        "    registry('typo', object)\n",
    )
    manager = PluginManager()
    manager.load_entry_points()
    assert [p.name for p in manager.failed] == ["typo"]
    assert sorted(manager.components("messenger")) == ["good"]


# -- conflicts ----------------------------------------------------------------------------------


def test_duplicate_component_name_is_an_error_naming_both_distributions() -> None:
    manager = PluginManager()
    with (
        registered_plugin(
            messenger_plugin("acme"), "acme", distribution="chatbotmaker-acme", manager=manager
        ),
        registered_plugin(
            messenger_plugin("acme"), "acme2", distribution="acme-fork", manager=manager
        ),
    ):
        with pytest.raises(PluginConflictError) as caught:
            manager.factory("messenger", "acme")
    message = str(caught.value)
    assert message.startswith("messenger 'acme' is registered by two plugins: ")
    assert sorted(message.split(": ", 1)[1].split(";")[0].split(" and ")) == [
        "acme-fork",
        "chatbotmaker-acme",
    ]


def test_same_name_in_different_kinds_is_no_conflict() -> None:
    class DatabasePlugin:
        @hookimpl
        def register_databases(self, register: Callable[[str, Any], None]) -> None:
            register("acme", dict)

    manager = PluginManager()
    with (
        registered_plugin(messenger_plugin("acme"), "m", manager=manager),
        registered_plugin(DatabasePlugin(), "d", manager=manager),
    ):
        assert manager.factory("messenger", "acme") is MemoMessenger
        assert manager.factory("database", "acme") is dict


def test_a_conflict_is_reported_by_bot_from_config_and_chatbotmaker_plugins(
    default_manager: None,
    bot_config: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    bot_config["messenger"] = {"name": "memo"}
    with (
        registered_plugin(messenger_plugin("memo"), "memo", distribution="chatbotmaker-memo"),
        registered_plugin(messenger_plugin("memo"), "memo2", distribution="memo-fork"),
    ):
        with pytest.raises(PluginConflictError, match="chatbotmaker-memo"):
            Bot.from_config(bot_config)
        capsys.readouterr()
        assert cli_main(["plugins", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert "messenger 'memo' is registered by two plugins" in report["error"]
    assert "chatbotmaker-memo" in report["error"] and "memo-fork" in report["error"]


# -- a hook that raises -------------------------------------------------------------------------


def test_a_hook_that_raises_is_recorded_and_other_plugins_keep_working() -> None:
    manager = PluginManager()
    with (
        registered_plugin(messenger_plugin("memo"), "memo", manager=manager),
        registered_plugin(FailingPlugin(), "failing", manager=manager) as failing,
    ):
        assert manager.factory("messenger", "memo") is MemoMessenger
        assert failing.error == "RuntimeError in register_messengers: ACME_API_KEY is not set"
        with pytest.raises(UnknownPluginError) as caught:
            manager.factory("messenger", "failing")
    assert str(caught.value) == (
        "unknown messenger 'failing'; available: memo; failed to load: "
        "failing (RuntimeError in register_messengers: ACME_API_KEY is not set)"
    )


def test_bot_from_config_works_beside_a_plugin_whose_hook_raises(
    default_manager: None, bot_config: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    bot_config["messenger"] = {"name": "memo"}
    with (
        registered_plugin(FailingPlugin(), "failing", distribution="chatbotmaker-failing"),
        registered_plugin(messenger_plugin("memo"), "memo"),
    ):
        bot = Bot.from_config(bot_config)
        try:
            bot.user_handle("7", "hi")
            assert bot.messenger.sent == [("7", "hello 7!")]
        finally:
            bot.database.dispose()
        capsys.readouterr()
        assert cli_main(["plugins"]) == 0
    listing = capsys.readouterr().out
    assert "failing (chatbotmaker-failing)" in listing
    assert "failed to load: RuntimeError in register_messengers: ACME_API_KEY is not set" in listing


def test_a_plugin_whose_hook_raises_registers_nothing() -> None:
    class HalfRegistered:
        @hookimpl
        def register_messengers(self, register: Callable[[str, Any], None]) -> None:
            register("half", MemoMessenger)
            raise RuntimeError("second registration failed")

    manager = PluginManager()
    with registered_plugin(HalfRegistered(), "half", manager=manager) as info:
        assert sorted(manager.components("messenger")) == []
        assert info.registers == {}


# -- the acme example's own tests ---------------------------------------------------------------


def test_the_acme_example_plugin_tests_pass() -> None:
    """docs/plugins.md shows these tests; they run from the example's folder, uninstalled."""
    # Without hypothesis' plugin, whose import alone takes seconds; the example does not use it.
    command = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest"]
    result = subprocess.run(
        [sys.executable, *command],
        cwd=ACME,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


# -- pluggy's own checks, built-in components, disabled plugins ---------------------------------


HOOK_NAMES = "register_commands, register_databases, register_messengers, register_rule_sources"


def test_a_misspelt_hook_is_recorded_as_a_failed_plugin(fake_site: FakeSite) -> None:
    fake_site.install("chatbotmaker-good", "1.0", "good", registers("good"))
    fake_site.install(
        "chatbotmaker-typo",
        "2.1",
        "typo",
        "from chatbotmaker_core import NullMessenger, hookimpl\n\n\n"
        "@hookimpl\n"
        "def register_messenger(register):\n"
        "    register('typo', NullMessenger)\n",
    )
    manager = PluginManager()
    manager.load_entry_points()

    [failed] = manager.failed
    assert (failed.name, failed.distribution, failed.version) == (
        "typo",
        "chatbotmaker-typo",
        "2.1",
    )
    assert failed.error == (
        "unknown hook 'register_messenger' (did you mean 'register_messengers'?); "
        f"the hooks are {HOOK_NAMES}"
    )
    with pytest.raises(UnknownPluginError) as caught:
        manager.factory("messenger", "typo")
    assert str(caught.value) == (
        f"unknown messenger 'typo'; available: good; failed to load: typo ({failed.error})"
    )


def test_core_components_exist_without_any_installed_metadata(
    fake_site: FakeSite, default_manager: None
) -> None:
    from chatbotmaker_core.plugins import get_plugin_manager
    from chatbotmaker_core.plugins.builtin import flow_rules, python_rules, sqlalchemy_database

    manager = get_plugin_manager()  # no distribution at all is visible: a bare source checkout
    assert [(p.name, p.distribution, p.error) for p in manager.plugins] == [
        ("core", "chatbotmaker-core", None)
    ]
    assert manager.factory("database", "sqlalchemy") is sqlalchemy_database
    assert manager.factory("rule_source", "python") is python_rules
    assert manager.factory("rule_source", "flow") is flow_rules


def test_a_plugin_clashing_with_sqlalchemy_names_both_distributions(
    fake_site: FakeSite, default_manager: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chatbotmaker_core.plugins import get_plugin_manager
    from chatbotmaker_core.plugins.builtin import sqlalchemy_database

    fake_site.install(
        "chatbotmaker-mongo",
        "0.2",
        "mongo",
        "from chatbotmaker_core import hookimpl\n\n\n"
        "@hookimpl\n"
        "def register_databases(register):\n"
        "    register('sqlalchemy', dict)\n",
    )
    with pytest.raises(PluginConflictError) as caught:
        get_plugin_manager().factory("database", "sqlalchemy")
    assert str(caught.value) == (
        "database 'sqlalchemy' is registered by two plugins: chatbotmaker-core and "
        "chatbotmaker-mongo; 'sqlalchemy' is built into chatbotmaker-core: uninstall "
        "chatbotmaker-mongo or set CHATBOTMAKER_DISABLED_PLUGINS=mongo"
    )
    # The fix the message gives works.
    monkeypatch.setenv("CHATBOTMAKER_DISABLED_PLUGINS", "mongo")
    reset_plugin_manager()
    assert get_plugin_manager().factory("database", "sqlalchemy") is sqlalchemy_database


def test_a_disabled_plugin_is_not_loaded_and_listed_as_disabled(
    fake_site: FakeSite,
    default_manager: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_site.install("chatbotmaker-dev", "0.1.0", "dev", registers("dev"))
    acme = fake_site.install(
        "chatbotmaker-acme", "2.0.0", "acme", "raise RuntimeError('imported')\n" + registers("a")
    )
    monkeypatch.setenv("CHATBOTMAKER_DISABLED_PLUGINS", " acme ,")
    manager = PluginManager()
    manager.load_entry_points()

    assert acme not in sys.modules  # never imported
    assert manager.failed == []
    assert [(p.name, p.disabled) for p in manager.plugins] == [("acme", True), ("dev", False)]
    with pytest.raises(UnknownPluginError) as caught:
        manager.factory("messenger", "acme")
    assert str(caught.value) == (
        "unknown messenger 'acme'; available: dev; disabled: acme (CHATBOTMAKER_DISABLED_PLUGINS)"
    )

    assert cli_main(["plugins"]) == 0
    assert (
        "acme (chatbotmaker-acme 2.0.0) = cbm_fake_acme\n"
        "    disabled (CHATBOTMAKER_DISABLED_PLUGINS)\n"
        "dev (chatbotmaker-dev 0.1.0) = cbm_fake_dev\n"
    ) in capsys.readouterr().out
    assert cli_main(["plugins", "--json"]) == 0
    listed = {p["entry_point"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
    assert (listed["acme"]["disabled"], listed["acme"]["error"]) == (True, None)
    assert listed["dev"]["disabled"] is False


# -- commands from plugins ----------------------------------------------------------------------


class GreetPlugin:
    """Adds ``chatbotmaker greet [--name NAME]``."""

    @hookimpl
    def register_commands(self, register: Any) -> None:
        def configure(parser: Any) -> None:
            parser.add_argument("--name", default="world")

        def run(args: Any) -> int:
            print(f"hello {args.name} ({args.command})")
            return 3

        register("greet", run, help="say hello", configure=configure)


class BrokenCommandPlugin:
    """Its command's ``configure`` raises; it also registers a messenger. The command's name
    is its own: a name another installed plugin registers (chatbotmaker-dev's ``studio``)
    would be a conflict, left out before ``configure`` is ever called."""

    @hookimpl
    def register_commands(self, register: Any) -> None:
        def configure(parser: Any) -> None:
            raise RuntimeError("viewer assets missing")

        register("viewer", lambda args: 0, help="the viewer", configure=configure)

    @hookimpl
    def register_messengers(self, register: Callable[[str, Any], None]) -> None:
        register("broken", MemoMessenger)


def test_a_plugin_adds_a_command(default_manager: None, capsys: pytest.CaptureFixture[str]) -> None:
    with registered_plugin(GreetPlugin(), "greet", distribution="chatbotmaker-greet") as info:
        assert cli_main(["greet", "--name", "ada", "--log-level", "error"]) == 3
        assert capsys.readouterr().out == "hello ada (greet)\n"
        with pytest.raises(SystemExit):
            cli_main(["--help"])
        assert "    greet               say hello\n" in capsys.readouterr().out
        assert info.registers == {"command": ["greet"]}
    with pytest.raises(SystemExit) as exited:
        cli_main(["greet"])
    assert exited.value.code == 2  # gone with its plugin: argparse's invalid choice


def test_a_command_that_cannot_be_added_fails_its_plugin_not_the_cli(
    default_manager: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with (
        registered_plugin(BrokenCommandPlugin(), "broken", distribution="chatbotmaker-b") as info,
        registered_plugin(GreetPlugin(), "greet"),
    ):
        assert cli_main(["greet"]) == 3
        assert info.error == ("RuntimeError in register_commands ('viewer'): viewer assets missing")
        assert capsys.readouterr().out == "hello world (greet)\n"
        assert cli_main(["plugins"]) == 0
        listing = capsys.readouterr().out
    assert (
        "broken (chatbotmaker-b) = tests.test_plugins\n"
        "    failed to load: RuntimeError in register_commands ('viewer'): viewer assets missing\n"
    ) in listing.replace(info.module, "tests.test_plugins")


def test_a_plugin_command_named_like_a_built_in_one_is_refused(
    default_manager: None, capsys: pytest.CaptureFixture[str]
) -> None:
    class Chat:
        @hookimpl
        def register_commands(self, register: Any) -> None:
            register("chat", lambda args: 0, help="not the real chat")

    with registered_plugin(Chat(), "chatty") as info:
        with pytest.raises(SystemExit):
            cli_main(["--help"])
        assert info.error == (
            "register_commands: 'chat' is a built-in command of chatbotmaker; "
            "register the command under another name"
        )


def test_log_level_governs_the_package_loggers_even_when_logging_was_set_up() -> None:
    import logging

    root = logging.getLogger()
    before = root.level
    try:
        assert cli_main(["--log-level", "debug", "plugins", "--json"]) == 0
        for name in ("chatbotmaker_core.cli", "chatbotmaker_core.plugins", "chatbotmaker_dev"):
            assert logging.getLogger(name).getEffectiveLevel() == logging.DEBUG
        assert cli_main(["--log-level", "error", "plugins", "--json"]) == 0
        assert not logging.getLogger("chatbotmaker_core.turn").isEnabledFor(logging.WARNING)
    finally:
        root.setLevel(before)
