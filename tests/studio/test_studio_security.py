"""The studio's protections, over real HTTP: token, CSRF, same origin, Host, CSP, and that
the editor writes only the config's own flow file."""

from __future__ import annotations

import json
import subprocess
import sys

from studio_helpers import csrf_of, http, serve_studio

JSON = {"Content-Type": "application/json"}


def _say(url: str, headers: dict[str, str], text: str = "hi") -> object:
    body = json.dumps({"user": "u1", "text": text}).encode()
    return http("POST", f"{url}/api/say", body, {**JSON, **headers})


def test_every_response_has_a_strict_content_security_policy(studio):
    for path in ("/", "/api/project", "/static/chat.js", "/api/nothing-here"):
        answer = http("GET", studio.url + path)
        policy = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
        assert "unsafe-inline" not in policy
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    page = http("GET", studio.url + "/").body
    assert "<script>" not in page and "onclick" not in page  # no inline script at all


def test_a_post_without_the_csrf_token_is_refused(studio):
    answer = _say(studio.url, {"Origin": studio.url})
    assert answer.status == 403
    assert "CSRF" in json.loads(answer.body)["error"]
    wrong = _say(studio.url, {"Origin": studio.url, "X-CSRF-Token": "guess"})
    assert wrong.status == 403
    assert not (studio.config.parent / "production.db").exists()


def test_a_post_from_another_origin_is_refused_even_with_the_token(studio):
    csrf = csrf_of(http("GET", studio.url + "/").body)
    other = _say(studio.url, {"Origin": "http://evil.example", "X-CSRF-Token": csrf})
    assert other.status == 403
    assert "cross-site" in json.loads(other.body)["error"]
    missing = _say(studio.url, {"X-CSRF-Token": csrf})  # neither Origin nor Referer
    assert missing.status == 403
    good = _say(studio.url, {"Origin": studio.url, "X-CSRF-Token": csrf})
    assert good.status == 200
    assert [r["text"] for r in json.loads(good.body)["replies"]] == [
        "Welcome to the shop!",
        "What would you like?",
    ]


def test_another_host_name_is_refused_on_the_loopback_address(studio):
    answer = http("GET", studio.url + "/", headers={"Host": "attacker.example:80"})
    assert answer.status == 403


def test_with_a_token_every_request_needs_it(shop):
    with serve_studio(shop, token="s3cret", loopback=False) as served:
        assert http("GET", served.url + "/").status == 401
        assert http("GET", served.url + "/api/project").status == 401
        assert http("GET", served.url + "/static/api.js").status == 401
        assert http("GET", served.url + "/?token=wrong").status == 401
        first = http("GET", served.url + "/?token=s3cret")
        assert first.status == 302 and first.headers["Location"].endswith("/")
        cookie = first.headers["Set-Cookie"]
        assert cookie.startswith("studio_token=s3cret") and "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        page = http("GET", served.url + "/", headers={"Cookie": "studio_token=s3cret"})
        assert page.status == 200
        header = http("GET", served.url + "/api/project", headers={"X-Studio-Token": "s3cret"})
        assert json.loads(header.body)["kind"] == "flow"
        csrf = csrf_of(page.body)
        # the token alone does not make a cross-site POST acceptable
        refused = _say(
            served.url,
            {"X-Studio-Token": "s3cret", "Origin": "http://evil.example", "X-CSRF-Token": csrf},
        )
        assert refused.status == 403


def test_the_cli_refuses_another_host_without_a_token(shop):
    result = subprocess.run(
        [sys.executable, "-m", "chatbotmaker_core.cli", "studio", str(shop), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: --host 0.0.0.0 exposes the studio")
    assert "add --token" in result.stderr


def test_the_editor_writes_only_the_configs_flow_file(studio):
    csrf = csrf_of(http("GET", studio.url + "/").body)
    headers = {**JSON, "Origin": studio.url, "X-CSRF-Token": csrf}
    before = sorted(p.name for p in studio.config.parent.iterdir())
    # a state name that looks like a path is only a state name inside the flow file
    body = json.dumps({"name": "../../etc/passwd"}).encode()
    answer = http("POST", studio.url + "/api/flow/states", body, headers)
    assert answer.status == 200
    assert "../../etc/passwd: {}" in studio.flow_file.read_text()
    after = sorted(p.name for p in studio.config.parent.iterdir())
    assert after == before
    # a transcript name is reduced to letters, digits and dashes, in the config's folder
    _say(studio.url, {"Origin": studio.url, "X-CSRF-Token": csrf})
    body = json.dumps({"user": "u1", "name": "../../outside"}).encode()
    saved = http("POST", studio.url + "/api/transcript", body, headers)
    assert json.loads(saved.body)["file"] == "outside.chat.yaml"
    assert (studio.config.parent / "outside.chat.yaml").exists()


def test_a_malformed_body_is_a_400_not_a_500(studio):
    csrf = csrf_of(http("GET", studio.url + "/").body)
    headers = {**JSON, "Origin": studio.url, "X-CSRF-Token": csrf}
    assert http("POST", studio.url + "/api/say", b"not json", headers).status == 400
    answer = http(
        "POST", studio.url + "/api/say", json.dumps({"user": "", "text": "x"}).encode(), headers
    )
    assert answer.status == 400
    assert "'user'" in json.loads(answer.body)["error"]
