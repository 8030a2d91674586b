"""A 0.0.13 bot ported by changing its imports behaves exactly as under 0.0.13.

The original runs under the real ``chatbotmaker==0.0.13`` from the package registry, in a
virtualenv of its own; the port runs here. Their outputs (every reply, in order, then each
user's state and arguments) must be identical.
"""

import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PORT = Path(__file__).parent / "fixtures" / "seed_port"
SEED_REQUIREMENTS = ["chatbotmaker==0.0.13", "sqlalchemy>=2,<2.1", "pymessenger==0.0.7.0"]


@pytest.fixture(scope="module")
def seed_python(tmp_path_factory):
    home = tmp_path_factory.mktemp("seed-venv")
    venv.create(home, with_pip=True)
    python = home / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *SEED_REQUIREMENTS],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if install.returncode != 0:
        pytest.fail(f"could not install chatbotmaker 0.0.13: {install.stderr[-2000:]}")
    return python


def run_bot(python, script, database):
    result = subprocess.run(
        [str(python), script, str(database)],
        cwd=PORT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_ported_bot_behaves_like_0_0_13(seed_python, tmp_path):
    original = run_bot(seed_python, "bot_013.py", tmp_path / "original.db")
    ported = run_bot(sys.executable, "bot_ported.py", tmp_path / "ported.db")
    assert len(original) == 30
    assert ported == original


def test_ported_bot_using_the_rest_of_the_user_api_behaves_like_0_0_13(seed_python, tmp_path):
    """execute_handle after change_state (enter_func twice, as 0.0.13 does), init_state and
    mark_seen, each user's mark_seen count reported at the end."""
    original = run_bot(seed_python, "bot_api_013.py", tmp_path / "original.db")
    ported = run_bot(sys.executable, "bot_api_ported.py", tmp_path / "ported.db")
    assert len(original) == 30
    assert original[-2:] == [
        "ann: state=home arguments=[('count', '5'), ('relayed', 'from home')] seen=6",
        "bob: state=home arguments=[('count', '2'), ('relayed', 'from home')] seen=3",
    ]
    assert ported == original


@pytest.mark.parametrize("name", ["bot", "bot_api"])
def test_port_differs_only_in_imports(name):
    original = (PORT / f"{name}_013.py").read_text().splitlines()
    ported = (PORT / f"{name}_ported.py").read_text().splitlines()
    assert len(original) == len(ported)
    changed = [(a, b) for a, b in zip(original, ported, strict=True) if a != b]
    assert [b for _, b in changed[1:]] == [
        "from chatbotmaker_core import Bot, Database, Dispatcher",
        "from chatbotmaker_dev import DevMessenger",
    ]
