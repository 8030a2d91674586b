"""The Messenger Profile as configuration: ``[messenger.profile]`` checked, pushed, read back.

The table holds Meta's own field names and shapes (``get_started = {payload = "..."}``,
``greeting``, ``ice_breakers``, ``persistent_menu``, ``whitelisted_domains``...), so what a
user reads in Meta's reference is what they write. It is checked when the messenger is built
(start-up and ``chatbotmaker check`` name the key at fault) rather than when Meta refuses it
during a ``profile push``. Instagram accepts a subset, sent with ``platform=instagram``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import urllib3

from chatbotmaker_core.errors import did_you_mean

from .errors import error_from_response
from .send_api import SendApi

#: the Messenger Profile fields Meta documents, per product
FIELDS = {
    "facebook": (
        "account_linking_url",
        "commands",
        "get_started",
        "greeting",
        "ice_breakers",
        "persistent_menu",
        "title",
        "whitelisted_domains",
    ),
    "instagram": ("ice_breakers", "persistent_menu"),
}
GREETING_LIMIT = 160
MAX_ICE_BREAKERS = 4
MAX_MENU_ITEMS = 20
MAX_DOMAINS = 50
PAYLOAD_LIMIT = 1000
MENU_ITEM_TYPES = ("postback", "web_url")


def profile_problems(profile: Any, channel: str) -> list[str]:
    """Every problem of a ``[messenger.profile]`` table, each naming its key."""
    if profile is None:
        return []
    if not isinstance(profile, Mapping):
        return [f"profile must be a table ([messenger.profile]), got {profile!r}"]
    known = FIELDS.get(channel, ())
    problems: list[str] = []
    for key, value in profile.items():
        if key not in known:
            problems.append(
                f"profile: unknown Messenger Profile field {key!r} for {channel}"
                f"{did_you_mean(key, known)}; known: {', '.join(known)}"
            )
            continue
        check = _CHECKS.get(key)
        if check is not None:
            problems += [f"profile.{key}{problem}" for problem in check(value)]
    if "persistent_menu" in profile and channel == "facebook" and "get_started" not in profile:
        problems.append(
            "profile.persistent_menu needs profile.get_started too (Meta refuses a menu "
            'without it): add get_started = {payload = "GET_STARTED"}'
        )
    return problems


def _text(value: Any, limit: int = PAYLOAD_LIMIT) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= limit


def _get_started(value: Any) -> list[str]:
    if not isinstance(value, Mapping) or not _text(value.get("payload")):
        return [
            f" must be a table with a payload string of 1-{PAYLOAD_LIMIT} characters "
            f'(get_started = {{payload = "GET_STARTED"}}), got {value!r}'
        ]
    extra = [k for k in value if k != "payload"]
    return [f": unknown key {k!r}; only payload" for k in extra]


def _greeting(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        return [" must be a list of {locale, text} tables ([[messenger.profile.greeting]])"]
    problems = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping) or not isinstance(item.get("locale"), str):
            problems.append(f"[{i}] must have a locale (e.g. 'default') and a text")
        elif not _text(item.get("text"), GREETING_LIMIT):
            problems.append(f"[{i}].text must be 1-{GREETING_LIMIT} characters")
    if not problems and not any(item.get("locale") == "default" for item in value):
        problems.append(": one greeting must have locale = 'default'")
    return problems


def _ice_breakers(value: Any) -> list[str]:
    """Meta's current shape (``[{locale, call_to_actions: [{question, payload}]}]``) or the
    older flat list of ``{question, payload}``."""
    if not isinstance(value, list) or not value:
        return [" must be a list (of {question, payload} or {locale, call_to_actions})"]
    if all(isinstance(item, Mapping) and "call_to_actions" in item for item in value):
        problems = []
        for i, item in enumerate(value):
            problems += [f"[{i}].call_to_actions{p}" for p in _questions(item["call_to_actions"])]
        return problems
    return _questions(value)


def _questions(value: Any) -> list[str]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_ICE_BREAKERS:
        return [f" must list 1-{MAX_ICE_BREAKERS} questions"]
    return [
        f"[{i}] must have a question and a payload (strings)"
        for i, item in enumerate(value)
        if not isinstance(item, Mapping)
        or not _text(item.get("question"), 80)
        or not _text(item.get("payload"))
    ]


def _persistent_menu(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        return [" must be a list of {locale, call_to_actions} tables"]
    problems = []
    for i, menu in enumerate(value):
        if not isinstance(menu, Mapping) or not isinstance(menu.get("locale"), str):
            problems.append(f"[{i}] must have a locale (e.g. 'default')")
            continue
        items = menu.get("call_to_actions")
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_MENU_ITEMS:
            problems.append(f"[{i}].call_to_actions must list 1-{MAX_MENU_ITEMS} items")
            continue
        for j, item in enumerate(items):
            problems += [f"[{i}].call_to_actions[{j}]{p}" for p in _menu_item(item)]
    return problems


def _menu_item(item: Any) -> list[str]:
    kind = item.get("type") if isinstance(item, Mapping) else None
    if kind not in MENU_ITEM_TYPES:
        return [f".type must be one of {', '.join(MENU_ITEM_TYPES)}, got {kind!r}"]
    if not _text(item.get("title"), 30):
        return [".title must be 1-30 characters"]
    if kind == "postback" and not _text(item.get("payload")):
        return [".payload is required for a postback item"]
    if kind == "web_url" and not str(item.get("url", "")).startswith(("https://", "http://")):
        return [".url must be an http(s) URL for a web_url item"]
    return []


def _whitelisted_domains(value: Any) -> list[str]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_DOMAINS:
        return [f" must list 1-{MAX_DOMAINS} https:// URLs"]
    return [
        f"[{i}] must be an https:// URL, got {domain!r}"
        for i, domain in enumerate(value)
        if not isinstance(domain, str) or not domain.startswith("https://")
    ]


_CHECKS = {
    "get_started": _get_started,
    "greeting": _greeting,
    "ice_breakers": _ice_breakers,
    "persistent_menu": _persistent_menu,
    "whitelisted_domains": _whitelisted_domains,
}


class ProfileApi:
    """``{graph_url}/{api_version}/me/messenger_profile`` with the page token and
    ``appsecret_proof``, as the Send API client sends them; ``platform=instagram`` for
    Instagram's profile."""

    def __init__(
        self,
        page_access_token: str,
        *,
        app_secret: str | None,
        graph_url: str,
        api_version: str,
        timeout: float,
        http: urllib3.PoolManager | None = None,
        platform: str | None = None,
    ) -> None:
        self.api = SendApi(
            page_access_token,
            app_secret=app_secret,
            graph_url=graph_url,
            api_version=api_version,
            timeout=timeout,
            http=http,
            path="me/messenger_profile",
            errors=partial(error_from_response, api="Messenger Profile API"),
        )
        self.channel = platform or "facebook"
        self._params = {"platform": platform} if platform else {}

    def push(self, profile: Mapping[str, Any]) -> dict[str, Any]:
        """POST the fields of ``profile`` (the others Meta holds are left as they are)."""
        return self.api.post(dict(profile), self._params or None)

    def show(self, fields: list[str] | None = None) -> dict[str, Any]:
        """GET ``fields`` (default: every field this product knows)."""
        wanted = fields or list(FIELDS.get(self.channel, FIELDS["facebook"]))
        return self.api.get({**self._params, "fields": ",".join(wanted)})
