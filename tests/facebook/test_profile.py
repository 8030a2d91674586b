"""The Messenger Profile as configuration: ``[messenger.profile]``, ``profile push|show``."""

from __future__ import annotations

import json

import pytest

from chatbotmaker_core import Bot, ConfigError
from chatbotmaker_core.cli import main
from chatbotmaker_core.web import create_app
from tests.support.facebook import PROOF, TOKEN, post, sample

PROFILE = """
[messenger.profile]
get_started = {payload = "GET_STARTED"}
greeting = [{locale = "default", text = "Hello {{user_first_name}}!"}]
ice_breakers = [{question = "What do you sell?", payload = "PRODUCTS"}]
whitelisted_domains = ["https://example.com"]

[[messenger.profile.persistent_menu]]
locale = "default"
call_to_actions = [{type = "postback", title = "Help", payload = "HELP"}]
"""


def write_config(tmp_path, graph, profile: str = PROFILE, name: str = "facebook"):
    path = tmp_path / "chatbotmaker.toml"
    path.write_text(
        f"""
[messenger]
name = "{name}"
page_access_token = "{TOKEN}"
app_secret = "app-secret-5f4dcc3b5aa765d61d8327deb882cf99"
verify_token = "v"
graph_url = "{graph.url}"
{profile}
[database]
name = "sqlalchemy"
url = "sqlite:///{tmp_path}/bot.db"

[rules]
name = "python"
source = "fb_helpers:RULES"
"""
    )
    return path


def test_profile_push_posts_the_configured_fields_with_the_page_token(tmp_path, graph, capsys):
    config = write_config(tmp_path, graph)
    assert main(["profile", "push", str(config)]) == 0
    (request,) = graph.requests
    assert (request.method, request.path) == ("POST", "/v25.0/me/messenger_profile")
    assert request.query == {"access_token": TOKEN, "appsecret_proof": PROOF}
    assert request.body == {
        "get_started": {"payload": "GET_STARTED"},
        "greeting": [{"locale": "default", "text": "Hello {{user_first_name}}!"}],
        "ice_breakers": [{"question": "What do you sell?", "payload": "PRODUCTS"}],
        "whitelisted_domains": ["https://example.com"],
        "persistent_menu": [
            {
                "locale": "default",
                "call_to_actions": [{"type": "postback", "title": "Help", "payload": "HELP"}],
            }
        ],
    }
    assert "Messenger Profile pushed (get_started, greeting" in capsys.readouterr().out


def test_profile_show_gets_the_fields_and_prints_what_meta_holds(tmp_path, graph, capsys):
    graph.profile = {"get_started": {"payload": "GET_STARTED"}}
    assert main(["profile", "show", str(write_config(tmp_path, graph))]) == 0
    (request,) = graph.requests
    assert (request.method, request.path) == ("GET", "/v25.0/me/messenger_profile")
    assert request.query["fields"] == (
        "get_started,greeting,ice_breakers,whitelisted_domains,persistent_menu"
    )
    assert request.query["access_token"] == TOKEN
    assert json.loads(capsys.readouterr().out) == {"get_started": {"payload": "GET_STARTED"}}


def test_instagram_profile_is_pushed_with_its_platform(tmp_path, graph):
    profile = '[messenger.profile]\nice_breakers = [{question = "Hi?", payload = "HI"}]\n'
    assert main(["profile", "push", str(write_config(tmp_path, graph, profile, "instagram"))]) == 0
    assert graph.requests[0].query["platform"] == "instagram"


def test_push_without_a_profile_says_what_to_add(tmp_path, graph, capsys):
    assert main(["profile", "push", str(write_config(tmp_path, graph, profile=""))]) == 1
    assert "[messenger.profile] is missing or empty; add Meta's fields" in capsys.readouterr().err
    assert graph.requests == []


def test_a_refused_push_is_one_line_without_the_token(tmp_path, graph, capsys):
    graph.fail(400, {"error": {"message": "Invalid keys", "code": 100}}, on="any")
    assert main(["profile", "push", str(write_config(tmp_path, graph))]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Messenger Profile API error HTTP 400, code 100")
    assert TOKEN not in err


@pytest.mark.parametrize(
    ("profile", "fragment"),
    [
        (
            'get_startd = {payload = "X"}',
            "unknown Messenger Profile field 'get_startd' for facebook (did you mean 'get_started'?)",
        ),
        ('get_started = {title = "X"}', "profile.get_started must be a table with a payload"),
        (
            'greeting = [{locale = "fr_FR", text = "Salut"}]',
            "one greeting must have locale = 'default'",
        ),
        (
            "ice_breakers = [" + ", ".join(['{question = "q", payload = "p"}'] * 5) + "]",
            "profile.ice_breakers must list 1-4 questions",
        ),
        (
            'whitelisted_domains = ["http://example.com"]',
            "profile.whitelisted_domains[0] must be an https:// URL",
        ),
        (
            'persistent_menu = [{locale = "default", call_to_actions = [{type = "postback", title = "Help", payload = "H"}]}]',
            "profile.persistent_menu needs profile.get_started too",
        ),
    ],
)
def test_a_wrong_profile_fails_at_start_up_naming_the_key(tmp_path, graph, profile, fragment):
    config = write_config(tmp_path, graph, f"[messenger.profile]\n{profile}\n")
    with pytest.raises(ConfigError) as caught:
        Bot.from_config(str(config))
    assert "[messenger] facebook: profile" in str(caught.value)
    assert fragment in str(caught.value)


def test_check_reports_a_wrong_profile(tmp_path, graph, capsys):
    config = write_config(tmp_path, graph, '[messenger.profile]\nget_started = "GO"\n')
    assert main(["check", str(config)]) == 1
    assert "profile.get_started must be a table with a payload" in capsys.readouterr().err


def test_the_get_started_postback_reaches_the_bot_as_its_payload(make_bot, graph):
    client = create_app(make_bot(turn_action="none")).test_client()
    assert post(client, sample("postback_get_started")).status_code == 200
    assert graph.replies() == [("<PSID>", "postback:GET_STARTED")]
