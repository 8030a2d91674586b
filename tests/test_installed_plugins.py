"""Plugins as users get them: real wheels, installed (not editable) into a fresh virtualenv.

Once per module, each distribution is built on its own (``python -m build --wheel``, with build
isolation, from its folder) and ``chatbotmaker-core``, ``chatbotmaker-dev``, the example
third-party plugin ``chatbotmaker-acme`` (``examples/acme_messenger``) and the fixture
``chatbotmaker-broken`` (whose entry-point module fails to import) are installed into one
virtualenv. The tests then run the ``chatbotmaker`` command of that virtualenv, never this
checkout's sources.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "plugins"
RULES = FIXTURES / "plugin_echo_rules.py"

#: distribution -> its source folder
SOURCES = {
    "chatbotmaker-core": REPO / "chatbotmaker_core",
    "chatbotmaker-dev": REPO / "chatbotmaker_dev",
    "chatbotmaker-facebook": REPO / "chatbotmaker_facebook",
    "chatbotmaker-acme": REPO / "examples" / "acme_messenger",
    "chatbotmaker-broken": FIXTURES / "broken",
}
INSTALLED = ["chatbotmaker-core", "chatbotmaker-dev", "chatbotmaker-acme", "chatbotmaker-broken"]
TIMEOUT = 300


def build_command(source: Path, outdir: Path) -> list[str]:
    """``python -m build --wheel`` for one distribution folder.

    Without build isolation when this environment has the build backend (much faster: no
    throwaway environment per build); the backend is the one each pyproject.toml names.
    """
    command = [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir), str(source)]
    if importlib.util.find_spec("hatchling") is not None:
        command.append("--no-isolation")
    return command


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{distribution: wheel}``, each built on its own from its folder, in parallel."""
    out = tmp_path_factory.mktemp("wheels")
    builds = {
        name: subprocess.Popen(
            build_command(source, out / name),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, source in SOURCES.items()
    }
    failures = []
    for name, build in builds.items():
        output, _ = build.communicate(timeout=TIMEOUT)
        if build.returncode != 0:
            failures.append(f"{name} failed to build a wheel:\n{output}")
    assert not failures, "\n\n".join(failures)
    built = {}
    for name in SOURCES:
        [wheel] = (out / name).glob("*.whl")
        built[name] = wheel
    return built


def version_of(wheel: Path) -> str:
    """The version in a wheel's file name (``name-version-tags.whl``)."""
    return wheel.name.split("-")[1]


@dataclass
class Venv:
    """A virtualenv with the wheels installed, and a way to run its commands."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / ("Scripts" if os.name == "nt" else "bin")

    @property
    def python(self) -> Path:
        return self.bin / ("python.exe" if os.name == "nt" else "python")

    def run(
        self, program: str, *args: str, cwd: Path, stdin: str = "", **environ: str
    ) -> subprocess.CompletedProcess[str]:
        """Run a program of the virtualenv in ``cwd``, isolated from this checkout."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.root)
        env.update(environ)
        return subprocess.run(
            [str(self.bin / program), *args],
            cwd=cwd,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    def chatbotmaker(
        self, *args: str, cwd: Path, stdin: str = "", **environ: str
    ) -> subprocess.CompletedProcess[str]:
        return self.run("chatbotmaker", *args, cwd=cwd, stdin=stdin, **environ)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheels: dict[str, Path]) -> Venv:
    """A fresh virtualenv with core, dev, acme and broken installed from their wheels."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    venv = Venv(root)
    # This interpreter's pip installs into the new environment (pip >= 22.3): no ensurepip.
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv.python), "install", "--quiet"]
        + ["--disable-pip-version-check", "--no-input"]
        + [str(wheels[name]) for name in INSTALLED],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return venv


def bot_folder(where: Path, messenger: str) -> Path:
    """A bot's folder: ``chatbotmaker.toml`` with the given ``[messenger]`` body, SQLite, and
    the rules module beside it. Returns the config's path."""
    where.mkdir(parents=True, exist_ok=True)
    shutil.copy(RULES, where / RULES.name)
    config = where / "chatbotmaker.toml"
    config.write_text(
        f"[messenger]\n{messenger}\n\n"
        f'[database]\nname = "sqlalchemy"\nurl = "sqlite:///{(where / "bot.db").as_posix()}"\n\n'
        '[rules]\nname = "python"\nsource = "plugin_echo_rules:RULES"\n'
    )
    return config


def json_lines(text: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in text.splitlines()]


# -- building -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("distribution", "package", "entry_points"),
    [
        (
            "chatbotmaker-core",
            "chatbotmaker_core",
            # No entry point of the group: the core's components are built in.
            {
                "console_scripts": {"chatbotmaker": "chatbotmaker_core.cli:main"},
                "pytest11": {"chatbotmaker": "chatbotmaker_core.pytest_plugin"},
            },
        ),
        (
            "chatbotmaker-dev",
            "chatbotmaker_dev",
            {"chatbotmaker": {"dev": "chatbotmaker_dev.plugin"}},
        ),
        (
            "chatbotmaker-facebook",
            "chatbotmaker_facebook",
            {"chatbotmaker": {"facebook": "chatbotmaker_facebook.plugin"}},
        ),
    ],
)
def test_each_distribution_builds_a_wheel_on_its_own(
    wheels: dict[str, Path], distribution: str, package: str, entry_points: dict
) -> None:
    wheel = wheels[distribution]
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [dist_info] = {name.split("/")[0] for name in names if ".dist-info/" in name}
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        parser = configparser.ConfigParser(delimiters=("=",))
        parser.read_string(archive.read(f"{dist_info}/entry_points.txt").decode())
    # Only its own import package, with its code and the typing marker.
    assert {name.split("/")[0] for name in names} - {dist_info} == {package}
    assert f"{package}/__init__.py" in names and f"{package}/py.typed" in names
    assert f"Name: {distribution}\n" in metadata
    assert f"Version: {version_of(wheel)}\n" in metadata
    assert {section: dict(parser[section]) for section in parser.sections()} == entry_points


# -- the installation ---------------------------------------------------------------------------


def test_installed_packages_come_from_the_virtualenv_not_the_checkout(
    venv: Venv, tmp_path: Path
) -> None:
    script = (
        "import importlib.util\n"
        "for name in ('chatbotmaker_core', 'chatbotmaker_dev', 'chatbotmaker_acme',"
        " 'chatbotmaker_facebook'):\n"
        "    spec = importlib.util.find_spec(name)\n"
        "    print(name, spec.origin if spec else None)\n"
    )
    result = venv.run("python", "-c", script, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    origins = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    for name in ("chatbotmaker_core", "chatbotmaker_dev", "chatbotmaker_acme"):
        assert Path(origins[name]).is_relative_to(venv.root.resolve()), origins[name]
    assert origins["chatbotmaker_facebook"] == "None"  # not installed, and not leaking in


def test_plugins_json_lists_every_plugin_and_the_broken_one(
    venv: Venv, wheels: dict[str, Path], tmp_path: Path
) -> None:
    result = venv.chatbotmaker("plugins", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["error"] is None
    plugins = {plugin["entry_point"]: plugin for plugin in report["plugins"]}
    assert sorted(plugins) == ["acme", "broken", "core", "dev"]

    def expected(distribution: str, module: str, registers: dict) -> dict:
        return {
            "module": module,
            "distribution": distribution,
            "version": version_of(wheels[distribution]),
            "registers": registers,
            "error": None,
            "disabled": False,
        }

    def without_entry_point(plugin: dict) -> dict:
        return {key: value for key, value in plugin.items() if key != "entry_point"}

    assert without_entry_point(plugins["core"]) == expected(
        "chatbotmaker-core",
        "chatbotmaker_core.plugins.builtin",
        {"database": ["sqlalchemy"], "rule_source": ["python", "flow"]},
    )
    assert without_entry_point(plugins["dev"]) == expected(
        "chatbotmaker-dev",
        "chatbotmaker_dev.plugin",
        {"messenger": ["dev"], "command": ["studio"]},
    )
    assert without_entry_point(plugins["acme"]) == expected(
        "chatbotmaker-acme", "chatbotmaker_acme.plugin", {"messenger": ["acme"]}
    )

    broken = plugins["broken"]
    assert broken["module"] == "chatbotmaker_broken.plugin"
    assert broken["distribution"] == "chatbotmaker-broken"
    assert broken["version"] == "0.3.1"
    assert broken["registers"] == {}
    assert broken["error"].startswith(
        "ImportError: cannot import name 'MessengerFromTheFuture' from 'chatbotmaker_core'"
    )


def test_plugins_text_output_shows_versions_registrations_and_the_load_error(
    venv: Venv, tmp_path: Path
) -> None:
    result = venv.chatbotmaker("plugins", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "acme (chatbotmaker-acme 0.1.0) = chatbotmaker_acme.plugin\n    messenger: acme" in text
    assert "broken (chatbotmaker-broken 0.3.1) = chatbotmaker_broken.plugin\n" in text
    assert "    failed to load: ImportError: cannot import name 'MessengerFromTheFuture'" in text


# -- using plugins by name ----------------------------------------------------------------------


def test_chat_through_the_third_party_messenger(venv: Venv, tmp_path: Path) -> None:
    config = bot_folder(tmp_path / "bot", 'name = "acme"\nprefix = "[acme] "')

    first = venv.chatbotmaker("chat", str(config), cwd=tmp_path, stdin="hi\none\n\ntwo\n")
    assert first.returncode == 0, first.stderr
    assert json_lines(first.stdout) == [
        {"to": "terminal", "text": "[acme] hello terminal!"},
        {"to": "terminal", "text": "[acme] #1 one"},
        {"to": "terminal", "text": "[acme] #2 two"},
    ]
    # State and arguments live in the SQLite file: the next process carries on.
    second = venv.chatbotmaker("chat", str(config), cwd=tmp_path, stdin="three\n")
    assert second.returncode == 0, second.stderr
    assert json_lines(second.stdout) == [{"to": "terminal", "text": "[acme] #3 three"}]


def test_chat_through_the_dev_messenger(venv: Venv, tmp_path: Path) -> None:
    config = bot_folder(tmp_path / "bot", 'name = "dev"')
    result = venv.chatbotmaker(
        "chat", str(config), "--user", "alice", cwd=tmp_path, stdin="hi\nyo\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["alice > hello alice!", "alice > #1 yo"]


def test_chat_keeps_the_platform_untouched_when_the_messenger_does_not_print(
    venv: Venv, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox.jsonl"
    config = bot_folder(tmp_path / "bot", f'name = "acme"\npath = "{outbox.as_posix()}"')
    result = venv.chatbotmaker("chat", str(config), cwd=tmp_path, stdin="hi\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["terminal > hello terminal!"]
    assert not outbox.exists()


def test_python_api_finds_the_installed_plugin_by_name(venv: Venv, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    config = bot_folder(tmp_path / "bot", f'name = "acme"\npath = "{outbox.as_posix()}"')
    script = (
        "import sys\n"
        "from chatbotmaker_core import Bot\n"
        "bot = Bot.from_config(sys.argv[1])\n"
        "print(type(bot.messenger).__module__, type(bot.messenger).__name__)\n"
        "bot.user_handle('u1', 'hi')\n"
        "bot.user_handle('u1', 'more')\n"
    )
    result = venv.run("python", "-c", script, str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "chatbotmaker_acme.messenger AcmeMessenger\n"
    assert json_lines(outbox.read_text()) == [
        {"to": "u1", "text": "hello u1!"},
        {"to": "u1", "text": "#1 more"},
    ]


@pytest.mark.parametrize("stdin", ["", "hi"], ids=["no-input", "last-line-without-newline"])
def test_chat_exits_0_on_end_of_input(venv: Venv, tmp_path: Path, stdin: str) -> None:
    config = bot_folder(tmp_path / "bot", 'name = "dev"')
    result = venv.chatbotmaker("chat", str(config), cwd=tmp_path, stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == (["terminal > hello terminal!"] if stdin else [])
    assert "Traceback" not in result.stderr


# -- check --------------------------------------------------------------------------------------


def test_check_accepts_a_config_naming_installed_plugins(venv: Venv, tmp_path: Path) -> None:
    config = bot_folder(tmp_path / "bot", 'name = "acme"')
    result = venv.chatbotmaker("check", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok" in result.stdout and "'acme'" in result.stdout


def test_check_names_the_available_messengers_and_the_broken_plugin(
    venv: Venv, tmp_path: Path
) -> None:
    config = bot_folder(tmp_path / "bot", 'name = "facebok"')
    result = venv.chatbotmaker("check", str(config), cwd=tmp_path)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert (
        "unknown messenger 'facebok'; available: acme, dev; failed to load: broken "
        "(ImportError: cannot import name 'MessengerFromTheFuture' from 'chatbotmaker_core'"
    ) in output
    assert "Traceback" not in output


def test_a_disabled_plugin_is_not_imported_and_listed_as_disabled(
    venv: Venv, tmp_path: Path
) -> None:
    disabled = {"CHATBOTMAKER_DISABLED_PLUGINS": "broken"}
    result = venv.chatbotmaker("plugins", "--json", cwd=tmp_path, **disabled)
    assert result.returncode == 0, result.stderr
    plugins = {p["entry_point"]: p for p in json.loads(result.stdout)["plugins"]}
    assert (plugins["broken"]["disabled"], plugins["broken"]["error"]) == (True, None)
    assert plugins["acme"]["disabled"] is False

    config = bot_folder(tmp_path / "bot", 'name = "facebok"')
    check = venv.chatbotmaker("check", str(config), cwd=tmp_path, **disabled)
    assert check.returncode == 1
    assert (
        "unknown messenger 'facebok'; available: acme, dev; "
        "disabled: broken (CHATBOTMAKER_DISABLED_PLUGINS)"
    ) in check.stdout + check.stderr
