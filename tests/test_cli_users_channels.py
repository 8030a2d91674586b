"""``chatbotmaker users`` on a bot with two messengers where one platform id is a user on both:
every action names the channel, and none acts on "the first found"."""

import json

import pytest

from tests.support.cli import run_main
from tests.test_cli_operations import chat, pizza  # noqa: F401  (the fixture)

TWO = '[messengers.messenger]\nname = "dev"\n\n[messengers.whatsapp]\nname = "dev"\n'


@pytest.fixture
def shared(pizza, capsys, monkeypatch):  # noqa: F811
    """``42`` on both channels (messenger: size, whatsapp: menu) and ``ann`` on messenger."""
    with open(pizza) as config:
        text = config.read()
    with open(pizza, "w") as config:
        config.write(text.replace('[messenger]\nname = "dev"\n', TWO))
    run_main(capsys, "db", "upgrade", pizza)
    chat(pizza, monkeypatch, capsys, "hi\n1\n", user="42")
    chat(pizza, monkeypatch, capsys, "hi\n", user="42", channel="whatsapp")
    chat(pizza, monkeypatch, capsys, "hi\n", user="ann")
    return pizza


def users(capsys, *extra):
    return json.loads(run_main(capsys, "users", "list", "--json", *extra)[1])


def test_list_names_each_users_channel_and_filters_by_it(shared, capsys):
    assert users(capsys) == [
        {"id": "42", "channel": "messenger", "state": "size"},
        {"id": "42", "channel": "whatsapp", "state": "menu"},
        {"id": "ann", "channel": "messenger", "state": "menu"},
    ]
    assert users(capsys, "--channel", "whatsapp") == [
        {"id": "42", "channel": "whatsapp", "state": "menu"}
    ]
    out = run_main(capsys, "users", "list", "--channel", "messenger", "--state", "menu")[1]
    assert out == "ann\tmessenger\tmenu\n"


@pytest.mark.parametrize(
    "action", [["show", "42"], ["set-state", "42", "help"], ["reset", "42"], ["delete", "42"]]
)
def test_an_id_on_two_channels_needs_a_channel(shared, capsys, action):
    code, out, err = run_main(capsys, "users", *action)
    assert code == 1 and out == ""
    assert err.strip() == (
        "error: user '42' is on several channels (messenger, whatsapp); "
        "name one with --channel, e.g. --channel messenger"
    )
    assert [u["state"] for u in users(capsys)] == ["size", "menu", "menu"]


def test_show_set_state_and_reset_act_on_the_named_channel(shared, capsys):
    shown = json.loads(
        run_main(capsys, "users", "show", "42", "--channel", "whatsapp", "--json")[1]
    )
    assert (shown["id"], shown["channel"], shown["state"]) == ("42", "whatsapp", "menu")
    assert shown["shared_with"] == ["messenger"]
    text = run_main(capsys, "users", "show", "ann")[1]
    assert text.startswith("id: ann\nchannel: messenger\nstate: menu\n")
    out = run_main(capsys, "users", "set-state", "42", "help", "--channel", "whatsapp")[1]
    assert out == "42: menu -> help (no handler ran)\n"
    assert [u["state"] for u in users(capsys)] == ["size", "help", "menu"]
    run_main(capsys, "users", "reset", "42", "--channel", "messenger")
    assert [u["state"] for u in users(capsys)] == ["welcome", "help", "menu"]
    code, _, err = run_main(capsys, "users", "show", "ann", "--channel", "whatsapp")
    assert code == 1 and err.startswith("error: no user 'ann' on channel 'whatsapp' in sqlite:")


def test_delete_erases_only_that_channels_user_and_keeps_rows_shared_by_the_id(shared, capsys):
    before = json.loads(
        run_main(capsys, "users", "show", "42", "--channel", "messenger", "--json")[1]
    )
    assert before["transitions"]
    code, out, _ = run_main(capsys, "users", "delete", "42", "--channel", "messenger")
    assert code == 0
    first, note = out.splitlines()
    assert first.startswith("42: erased (") and "users 1" in first and "transitions" not in first
    assert note == (
        "42: transitions, handled messages and delivery failures kept: the id is a user on "
        "whatsapp too (they store the id alone); erasing that user removes them"
    )
    assert users(capsys) == [
        {"id": "42", "channel": "whatsapp", "state": "menu"},
        {"id": "ann", "channel": "messenger", "state": "menu"},
    ]
    left = json.loads(run_main(capsys, "users", "show", "42", "--json")[1])
    assert left["channel"] == "whatsapp" and left["shared_with"] == []
    assert len(left["transitions"]) == len(before["transitions"])
    out = run_main(capsys, "users", "delete", "42")[1]
    assert "transitions" in out and "kept" not in out
    assert users(capsys) == [{"id": "ann", "channel": "messenger", "state": "menu"}]
