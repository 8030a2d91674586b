"""The flow editor, reload and transcripts in headless Chromium: edits reach the running bot
and the YAML file (comments kept), errors are shown beside their field or at the top."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from ruamel.yaml import YAML
from studio_helpers import SHOP_FLOW, screenshot

from chatbotmaker_core.config import build_component, load_config
from chatbotmaker_core.testing import BotHarness

pytestmark = pytest.mark.browser


def _say(page, text):
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")


def _open_state(page, name):
    page.get_by_test_id("state-list").locator(f'[data-state="{name}"]').click()
    expect(page.get_by_test_id("state-name")).to_have_value(name)


def test_editing_a_message_changes_what_the_bot_says_and_keeps_the_comments(page, studio):
    page.goto(studio.url)
    _open_state(page, "menu")
    message = page.locator('[data-field="prompt.say.0"]')
    expect(message).to_have_value("What would you like?")
    message.fill("Pick one: order or help.")
    page.locator('[data-field="prompt.quick_replies"]').fill("order, help, hours")
    screenshot(page, "editor")
    page.get_by_test_id("save-state").click()
    expect(page.get_by_test_id("editor-status")).to_have_text("saved state menu")

    _say(page, "hi")
    expect(page.get_by_test_id("bot-message")).to_have_text(
        ["Welcome to the shop!", "Pick one: order or help."]
    )
    expect(page.get_by_test_id("quick-reply")).to_have_text(["order", "help", "hours"])

    text = studio.flow_file.read_text()
    expected = SHOP_FLOW.replace('say: "What would you like?"', 'say: "Pick one: order or help."')
    expected = expected.replace(
        "quick_replies: [order, help]", "quick_replies: [order, help, hours]"
    )
    assert text == expected  # only the edited lines changed: comments, order, quotes kept


def test_renaming_a_state_updates_every_reference(page, studio):
    page.goto(studio.url)
    _open_state(page, "size")
    page.get_by_test_id("state-name").fill("pizza_size")
    page.get_by_test_id("rename-state").click()
    expect(page.get_by_test_id("editor-status")).to_have_text("renamed size to pizza_size")
    expect(page.get_by_test_id("state-name")).to_have_value("pizza_size")
    expect(page.locator('[data-testid="flow-graph"] g[data-state="pizza_size"]')).to_have_count(1)
    expect(page.locator('[data-testid="flow-graph"] g[data-state="size"]')).to_have_count(0)

    data = YAML(typ="safe").load(studio.flow_file.read_text())
    assert list(data["states"]) == ["welcome", "menu", "pizza_size", "done", "help"]
    assert data["states"]["menu"]["routes"][0] == {"match": "order", "go": "pizza_size"}
    assert "# echo, quoted" in studio.flow_file.read_text()
    _say(page, "hi")
    _say(page, "order")
    expect(page.get_by_test_id("user-state")).to_have_text("pizza_size")


def test_an_invalid_edit_is_shown_beside_its_field_and_not_saved(page, studio):
    page.problems.expected_statuses.add(422)
    page.goto(studio.url)
    _open_state(page, "menu")
    route = page.locator('[data-field="routes.0"]')
    route.locator('[data-field="routes.0.kind"]').select_option("regex")
    page.locator('[data-field="routes.0.regex"]').fill("(unclosed")
    page.get_by_test_id("save-state").click()
    error = route.get_by_test_id("field-error")
    expect(error).to_contain_text("state 'menu', route 1: invalid regex: missing )")
    screenshot(page, "validation")
    assert studio.flow_file.read_text() == SHOP_FLOW


def test_deleting_a_state_shows_its_references_first(page, studio):
    page.goto(studio.url)
    _open_state(page, "help")
    page.get_by_test_id("delete-state").click()
    expect(page.get_by_test_id("references")).to_have_text(
        "Cannot delete help: used by state 'menu', route 2. Change those first."
    )
    assert "  help:" in studio.flow_file.read_text()
    page.get_by_test_id("new-state-name").fill("goodbye")
    page.get_by_test_id("add-state").click()
    expect(page.get_by_test_id("state-name")).to_have_value("goodbye")
    page.get_by_test_id("delete-state").click()
    page.get_by_test_id("confirm-delete").click()
    expect(page.get_by_test_id("editor-status")).to_have_text("deleted state goodbye")
    assert studio.flow_file.read_text() == SHOP_FLOW


def test_a_broken_file_shows_its_errors_and_a_fixed_one_is_picked_up(page, studio):
    page.goto(studio.url)
    _say(page, "hi")
    expect(page.get_by_test_id("user-state")).to_have_text("menu")
    studio.flow_file.write_text(SHOP_FLOW.replace("go: size", "go: sise"))
    page.reload()
    errors = page.get_by_test_id("flow-errors")
    expect(errors).to_be_visible()
    expect(errors).to_contain_text(
        "shop.flow.yaml:17:13: state 'menu', route 1: unknown state 'sise'"
    )
    screenshot(page, "errors")
    studio.flow_file.write_text(SHOP_FLOW.replace('"Which size?"', '"Which size, then?"'))
    page.reload()
    expect(errors).to_be_hidden()
    _say(page, "order")
    expect(page.get_by_test_id("bot-message").last).to_have_text("Which size, then?")
    studio.flow_file.write_text("flow: 1\nstates: [not, a, mapping\n")
    page.reload()
    expect(errors).to_contain_text("not valid YAML")
    expect(page.get_by_test_id("flow-graph")).to_contain_text("No diagram")


def test_save_as_transcript_writes_a_chat_yaml_that_passes(page, studio):
    page.goto(studio.url)
    _say(page, "hi")
    page.get_by_test_id("quick-reply").filter(has_text="order").click()
    expect(page.get_by_test_id("user-state")).to_have_text("size")
    page.get_by_test_id("bot-button").filter(has_text="small").click()
    expect(page.get_by_test_id("user-state")).to_have_text("done")
    page.get_by_test_id("transcript-name").fill("Orders a small one")
    page.get_by_test_id("save-transcript").click()
    expect(page.get_by_test_id("tests-output")).to_have_text(
        "saved orders-a-small-one.chat.yaml (3 steps)"
    )
    written = studio.config.parent / "orders-a-small-one.chat.yaml"
    transcript = YAML(typ="safe").load(written.read_text())
    assert transcript == {
        "name": "Orders a small one",
        "config": "chatbotmaker.toml",
        "user": "studio-user",
        "steps": [
            {
                "say": "hi",
                "expect": [
                    "Welcome to the shop!",
                    {"text": "What would you like?", "quick_replies": ["order", "help"]},
                ],
                "state": "menu",
            },
            {
                "say": "order",
                "expect": [{"text": "Which size?", "buttons": ["small", "large"]}],
                "state": "size",
            },
            {"say": "small", "expect": ["A small one, noted."], "state": "done"},
        ],
    }
    _replay(studio.config, transcript)
    wrong = written.read_text().replace("Orders a small one", "Expects a medium one")
    (written.parent / "wrong.chat.yaml").write_text(wrong.replace("A small", "A medium"))
    page.get_by_test_id("run-tests").click()
    results = page.get_by_test_id("test-result")
    expect(results).to_have_count(2)
    expect(results.nth(0)).to_have_text("PASS Orders a small one (orders-a-small-one.chat.yaml)")
    expect(results.nth(0).get_by_test_id("test-diff")).to_have_count(0)
    expect(results.nth(1)).to_contain_text("FAIL Expects a medium one (wrong.chat.yaml)")
    diff = results.nth(1).get_by_test_id("test-diff")
    expect(diff).to_contain_text("'Expects a medium one' failed at step 3")
    expect(diff).to_contain_text('- "A medium one, noted."')
    expect(diff).to_contain_text('+ "A small one, noted."')
    screenshot(page, "tests")


def _replay(config, transcript):
    """The transcript passes: run on a fresh database, every reply and state as written."""
    rules = build_component(load_config(config), "rules")
    with BotHarness(rules, user_id=transcript["user"]) as harness:
        for step in transcript["steps"]:
            harness.say(step["say"])
            replies = [r for _, r in harness.messenger.replies]
            harness.messenger.replies.clear()
            texts = [e if isinstance(e, str) else e["text"] for e in step["expect"]]
            assert [r.text for r in replies] == texts
            for reply, wanted in zip(replies, step["expect"], strict=True):
                if isinstance(wanted, dict):
                    assert [q.title for q in reply.quick_replies] == wanted.get("quick_replies", [])
                    assert [b.title for b in reply.buttons] == wanted.get("buttons", [])
            assert harness.state == step["state"]
