"""A transcript's optional ``channel:`` (DESIGN §12, §15): checked against the config's
messengers, its messages sent as that channel's user, and written by ``chat --record``."""

from __future__ import annotations

from textwrap import dedent

from tests.support.cli import run, run_main
from tests.support.transcripts import write

RULES = """
from chatbotmaker_core import Dispatcher


def pre_func_welcome(user):
    user.send_message(f"on {user.channel}")


def func_welcome(user, user_input):
    user.send_message(f"{user_input} on {user.channel}")


RULES = {"actions": {"welcome": Dispatcher.DEFAULT}}
"""


def two_channels(folder):
    (folder / "channel_rules.py").write_text(RULES)
    config = folder / "chatbotmaker.toml"
    config.write_text(
        dedent(f"""\
        [messengers.messenger]
        name = "dev"
        [messengers.whatsapp]
        name = "dev"
        [database]
        name = "sqlalchemy"
        url = "sqlite:///{folder / "real.db"}"
        [rules]
        name = "python"
        source = "channel_rules:RULES"
        """)
    )
    return config


def test_a_transcript_talks_on_its_channel(tmp_path, capsys):
    two_channels(tmp_path)
    on_whatsapp = write(
        tmp_path,
        "wa.chat.yaml",
        """
        name: on whatsapp
        channel: whatsapp
        steps:
          - say: hi
            expect: [on whatsapp, hi on whatsapp]
        """,
    )
    by_default = write(
        tmp_path,
        "x.chat.yaml",
        """
        name: by default
        steps:
          - say: hi
            expect: [on whatsapp, hi on whatsapp]
        """,
    )
    code, out, _ = run_main(capsys, "test", str(on_whatsapp))
    assert code == 0, out
    code, out, _ = run_main(capsys, "test", str(by_default))
    assert code == 1 and '+ "on messenger"' in out  # the first messenger, as `chat` talks


def test_a_channel_the_config_has_no_messenger_for_is_one_line(tmp_path, capsys):
    config = two_channels(tmp_path)
    path = write(
        tmp_path,
        "tg.chat.yaml",
        """
        name: telegram
        channel: telegram
        steps:
          - say: hi
        """,
    )
    code, out, _ = run_main(capsys, "test", str(path))
    assert code == 1
    assert (
        f"{path}:2: channel 'telegram' is not a messenger of {config}; its channels: "
        "messenger, whatsapp (the [messengers.<name>] tables)"
    ) in out


def test_chat_record_writes_the_channel_and_the_recording_passes(tmp_path):
    config = two_channels(tmp_path)
    record = tmp_path / "talk.chat.yaml"
    chat = run("chat", str(config), "--channel", "whatsapp", "--record", str(record), stdin="hi\n")
    assert chat.returncode == 0, chat.stderr
    text = record.read_text()
    assert "\nchannel: whatsapp\nsteps:\n" in text
    assert "on whatsapp" in text
    replay = run("test", str(record))
    assert replay.returncode == 0, replay.stdout
    plain = tmp_path / "plain.chat.yaml"
    assert run("chat", str(config), "--record", str(plain), stdin="hi\n").returncode == 0
    assert "channel:" not in plain.read_text()
