"""Property-based tests: no request makes the webhook answer 5xx; splitting keeps every word."""

from __future__ import annotations

import io
import json

import pytest
from fb_helpers import sign
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chatbotmaker_facebook.payloads import split_text, text_units

# -- webhook bodies: near-valid shapes with wrong types anywhere -----------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
anything = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
ids = st.one_of(
    st.sampled_from(["<PSID>", "1254459154682919", "PAGE"]),
    st.text(max_size=300),
    st.integers(),
    anything,
)
texts = st.one_of(st.text(max_size=50), anything)


def maybe(strategy):
    return st.one_of(strategy, anything)


messages = st.fixed_dictionaries(
    {},
    optional={
        "mid": ids,
        "text": texts,
        "is_echo": maybe(st.booleans()),
        "quick_reply": maybe(st.fixed_dictionaries({}, optional={"payload": texts})),
        "attachments": maybe(
            st.lists(
                maybe(st.fixed_dictionaries({"type": texts}, optional={"payload": anything})),
                max_size=3,
            )
        ),
    },
)
events = st.fixed_dictionaries(
    {},
    optional={
        "sender": maybe(st.fixed_dictionaries({}, optional={"id": ids})),
        "recipient": maybe(st.fixed_dictionaries({}, optional={"id": ids})),
        "timestamp": maybe(st.one_of(st.integers(), st.text(max_size=25))),
        "message": maybe(messages),
        "postback": maybe(
            st.fixed_dictionaries({}, optional={"payload": texts, "title": texts, "mid": ids})
        ),
        "delivery": anything,
        "read": anything,
    },
)
entries = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "time": anything,
        "messaging": maybe(st.lists(maybe(events), max_size=3)),
        "standby": maybe(st.lists(maybe(events), max_size=2)),
    },
)
documents = st.fixed_dictionaries(
    {},
    optional={
        "object": maybe(st.just("page")),
        "entry": maybe(st.lists(maybe(entries), max_size=3)),
    },
)
# well-formed deliveries with arbitrary strings: these reach Bot.handle and the Send API
good_ids = st.text(
    st.characters(min_codepoint=32, exclude_categories=("Cs",)), min_size=1, max_size=40
)
good_texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
good_events = st.builds(
    lambda sender, mid, body, kind: {
        "sender": {"id": sender},
        "recipient": {"id": "PAGE"},
        "timestamp": 1458692752478,
        kind: {"mid": mid, **body},
    },
    good_ids,
    good_ids,
    st.one_of(
        st.fixed_dictionaries({"text": good_texts}),
        st.fixed_dictionaries(
            {"text": good_texts, "quick_reply": st.fixed_dictionaries({"payload": good_texts})}
        ),
        st.fixed_dictionaries({"payload": good_texts, "title": good_texts}),
        st.fixed_dictionaries(
            {
                "attachments": st.lists(
                    st.fixed_dictionaries(
                        {"type": st.sampled_from(["image", "file"]), "payload": anything}
                    ),
                    min_size=1,
                    max_size=2,
                )
            }
        ),
        st.fixed_dictionaries({"is_echo": st.just(True), "text": good_texts}),
    ),
    st.sampled_from(["message", "message", "postback"]),
)
good_documents = st.builds(
    lambda entries: {"object": "page", "entry": [{"id": "PAGE", "messaging": e} for e in entries]},
    st.lists(st.lists(good_events, max_size=3), min_size=1, max_size=2),
)
bodies = st.one_of(
    good_documents.map(lambda d: json.dumps(d).encode()),
    documents.map(lambda d: json.dumps(d).encode()),
    anything.map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=64),
    st.text(max_size=64).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
)
latin1 = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80)
signatures = st.one_of(
    st.just("valid"), st.just("missing"), st.just("wrong"), latin1.map(lambda h: ("raw", h))
)
content_types = st.sampled_from(
    [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
    ]
)


@pytest.mark.filterwarnings("ignore")
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=bodies,
    signature=signatures,
    content_type=content_types,
    path=st.sampled_from(["/webhook", "/webhook/"]),
)
def test_no_body_or_header_yields_a_5xx(client, graph, body, signature, content_type, path):
    headers = {}
    if signature == "valid":
        headers["X-Hub-Signature-256"] = sign(body)
    elif signature == "wrong":
        headers["X-Hub-Signature-256"] = sign(body + b"!")
    elif isinstance(signature, tuple):
        headers["X-Hub-Signature-256"] = signature[1]
    before = len(graph.requests)

    # input_stream: the exact bytes, whatever the content type (no form re-encoding)
    response = client.post(
        path,
        input_stream=io.BytesIO(body),
        content_length=len(body),
        headers=headers,
        content_type=content_type,
    )

    sent = len(graph.requests) - before
    event(f"{signature if isinstance(signature, str) else 'raw'}: {response.status_code}")
    event(f"handled: {'yes' if sent else 'no'}")
    assert response.status_code < 500
    if signature != "valid":
        assert response.status_code == 403
        assert sent == 0  # nothing handled, nothing sent
    else:
        assert response.status_code in (200, 400)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge", "x"]), latin1, max_size=4
    )
)
def test_no_verification_request_yields_a_5xx(client, query):
    response = client.get("/webhook", query_string=query)
    assert response.status_code in (200, 403)


# -- splitting -------------------------------------------------------------------------------

words = st.text(
    st.characters(exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=30
)
separators = st.sampled_from([" ", "  ", "\n", "\n\n", "\t"])


@settings(max_examples=100, deadline=None)
@given(
    parts=st.lists(st.tuples(words, separators), max_size=120),
    limit=st.integers(min_value=40, max_value=2000),
)
def test_split_keeps_every_word_in_order_within_the_limit(parts, limit):
    text = "".join(word + sep for word, sep in parts).strip()
    chunks = split_text(text, limit)

    assert all(text_units(chunk) <= limit for chunk in chunks)
    assert all(chunk for chunk in chunks) or text == ""
    assert " ".join(chunks).split() == text.split()  # words are only ever split at spaces


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=5000), limit=st.integers(min_value=2, max_value=300))
def test_split_never_loses_a_character_but_whitespace(text, limit):
    chunks = split_text(text, limit)
    assert all(text_units(chunk) <= limit for chunk in chunks)
    assert "".join("".join(chunks).split()) == "".join(text.split())
