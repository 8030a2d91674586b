"""The studio's chat panel and diagram in headless Chromium (the data-testid contract of
DESIGN §13): quick replies, buttons, state and arguments live, reset, current state, XSS."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from studio_helpers import live_database, screenshot

pytestmark = pytest.mark.browser


def _say(page, text):
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")


def test_chat_with_quick_replies_buttons_state_arguments_and_reset(page, studio):
    page.goto(studio.url)
    _say(page, "hi")
    messages = page.get_by_test_id("bot-message")
    expect(messages).to_have_text(["Welcome to the shop!", "What would you like?"])
    expect(page.get_by_test_id("quick-reply")).to_have_text(["order", "help"])
    expect(page.get_by_test_id("user-state")).to_have_text("menu")
    expect(page.locator('[data-testid="flow-graph"] svg g[data-state="menu"]')).to_have_class(
        "state current"
    )

    page.get_by_test_id("quick-reply").filter(has_text="order").click()
    expect(messages).to_have_count(3)
    expect(messages.nth(2)).to_have_text("Which size?")
    expect(page.get_by_test_id("quick-reply")).to_have_count(0)  # gone after a choice
    expect(page.get_by_test_id("user-state")).to_have_text("size")
    page.get_by_test_id("bot-button").filter(has_text="large").click()  # a postback button
    expect(messages.nth(3)).to_have_text("A large one, noted.")
    expect(page.get_by_test_id("user-args")).to_have_text('{"size":"large"}')
    assert json.loads(page.get_by_test_id("user-args").text_content()) == {"size": "large"}
    expect(page.get_by_test_id("user-state")).to_have_text("done")
    screenshot(page, "chat")

    page.get_by_test_id("reset-user").click()
    expect(page.get_by_test_id("user-state")).to_have_text("")
    expect(page.get_by_test_id("user-args")).to_have_text("{}")
    expect(messages).to_have_count(0)
    expect(page.locator("g.state.current")).to_have_count(0)
    _say(page, "hello again")
    expect(messages).to_have_text(["Welcome to the shop!", "What would you like?"])
    # the studio's own database: the config's production database was never created
    assert not (studio.config.parent / "production.db").exists()


def test_the_diagram_draws_every_state_and_follows_the_user(page, studio):
    page.goto(studio.url)
    graph = page.get_by_test_id("flow-graph")
    states = graph.locator("svg g[data-state]")
    expect(states).to_have_count(5)
    names = sorted(states.evaluate_all("gs => gs.map(g => g.getAttribute('data-state'))"))
    assert names == ["done", "help", "menu", "size", "welcome"]
    expect(graph.locator("g.current")).to_have_count(0)
    _say(page, "hi")
    expect(graph.locator("g.current")).to_have_attribute("data-state", "menu")
    _say(page, "help")
    expect(graph.locator("g.current")).to_have_attribute("data-state", "help")
    expect(graph.locator("g.current")).to_have_count(1)
    # laid out: no two boxes at the same place
    boxes = graph.locator("g[data-state] rect").evaluate_all(
        "rs => rs.map(r => r.getAttribute('x') + ',' + r.getAttribute('y'))"
    )
    assert len(set(boxes)) == 5
    screenshot(page, "diagram")
    graph.locator('g[data-state="size"]').click()  # opens the state in the editor
    expect(page.get_by_test_id("state-name")).to_have_value("size")


def test_user_text_is_never_rendered_as_html(page, studio):
    page.goto(studio.url)
    _say(page, "hi")
    attack = '<img src=x onerror="window.__xss=1"><b>bold</b>'
    _say(page, attack)
    expect(page.get_by_test_id("user-message").last).to_have_text(attack)
    echo = page.get_by_test_id("bot-message").filter(has_text="Sorry, I don't know")
    expect(echo).to_contain_text(attack)  # the bot quotes it back: still text
    assert page.locator("#messages img, #messages b").count() == 0
    assert page.evaluate("window.__xss") is None


def test_a_new_user_starts_from_the_beginning(page, studio):
    page.goto(studio.url)
    _say(page, "hi")
    expect(page.get_by_test_id("user-state")).to_have_text("menu")
    page.get_by_test_id("new-user").click()
    expect(page.get_by_test_id("user-state")).to_have_text("")
    assert page.get_by_test_id("user-id").input_value() != "studio-user"
    _say(page, "hi")
    expect(page.get_by_test_id("bot-message").first).to_have_text("Welcome to the shop!")


def test_the_diagram_shows_how_many_users_of_the_bot_are_in_each_state(page, studio):
    live_database(studio.config, {"ann": ["hi"], "bob": ["hi"], "cid": ["hi", "order"]})
    page.goto(studio.url)
    graph = page.get_by_test_id("flow-graph")
    expect(graph.locator('g[data-state="menu"] [data-testid="state-count"]')).to_have_text("2")
    expect(graph.locator('g[data-state="size"] [data-testid="state-count"]')).to_have_text("1")
    expect(graph.get_by_test_id("state-count")).to_have_count(2)  # no count where nobody is
