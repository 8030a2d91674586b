"""Property-based tests: no request makes the webhook answer 5xx; splitting keeps every word."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chatbotmaker_core import Bot, Database, Dispatcher
from chatbotmaker_core.queued.worker import WorkerSettings, work
from chatbotmaker_core.storable import storable_text
from chatbotmaker_core.web import create_app
from chatbotmaker_facebook import FacebookMessenger
from chatbotmaker_facebook.payloads import split_text, text_units
from tests.support.facebook import APP_SECRET, TOKEN, VERIFY_TOKEN, sign

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


# -- every backend: each valid event of a batch handled exactly once, never a 5xx ----------

#: any character, plus those PostgreSQL refuses (NUL, lone surrogates) and other odd ones
odd_texts = st.text(
    st.one_of(
        st.characters(exclude_categories=()),
        st.sampled_from(["\x00", "\ud800", "\udfff", "\ud83d", "\ufffd", "\u2028", "\U0001f600"]),
    ),
    max_size=30,
)
#: printable ids: Meta's are digits; a NUL or control character is refused (tested apart)
fuzz_ids = st.text(
    st.characters(min_codepoint=33, exclude_categories=("Cs", "Cc")), min_size=1, max_size=20
)
odd_scalars = st.one_of(
    scalars,
    odd_texts,
    st.floats(),  # NaN and the infinities too: Python's json writes and reads them
    st.integers(-(10**40), 10**40),
)
odd_values = st.recursive(
    odd_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_texts, inner, max_size=3),
    max_leaves=10,
)
nested = st.integers(0, 90).map(lambda depth: json.loads("[" * depth + "1" + "]" * depth))
extras = st.dictionaries(
    st.text(max_size=8).filter(lambda key: key not in ("message", "postback", "sender")),
    st.one_of(odd_values, nested),
    max_size=3,
)
#: (event body, what the handler receives) of one valid event, its kind decided by the shape
valid_bodies = st.one_of(
    odd_texts.map(lambda t: ("message", {"text": t}, t)),
    st.tuples(odd_texts, odd_texts).map(
        lambda p: ("message", {"text": p[0], "quick_reply": {"payload": p[1]}}, p[1])
    ),
    st.tuples(odd_texts, odd_texts).map(
        lambda p: ("postback", {"payload": p[0], "title": p[1]}, p[0])
    ),
    st.lists(
        st.fixed_dictionaries({"type": odd_texts, "payload": odd_values}), min_size=1, max_size=2
    ).map(lambda a: ("message", {"attachments": a}, "")),
)


@st.composite
def fuzz_batches(draw):
    """A signed-ready body mixing valid events (expected replies) and malformed ones."""
    expected: dict[str, tuple[str, str]] = {}
    entries = []
    for _ in range(draw(st.integers(1, 2))):
        messaging = []
        for _ in range(draw(st.integers(0, 4))):
            if draw(st.booleans()):
                messaging.append(draw(maybe(events)))  # mostly malformed, never costs the rest
                continue
            kind, body, user_input = draw(valid_bodies)
            mid = f"good-{uuid.uuid4().hex}"
            user = draw(fuzz_ids)
            event = {"sender": {"id": user}, **draw(extras), kind: {"mid": mid, **body}}
            messaging.append(event)
            expected[mid] = (user, storable_text(user_input))
        entries.append({"id": "PAGE", "messaging": messaging, "odd": draw(odd_values)})
    return json.dumps({"object": "page", "entry": entries}).encode(), expected


def echo_mid(user, user_input):
    user.send_message(f"{user.message.message_id}|{user_input}")


@pytest.fixture(
    params=[
        "inline-sqlite",
        pytest.param("inline-postgresql", marks=pytest.mark.postgres),
        pytest.param("queued-postgresql", marks=pytest.mark.postgres),
    ]
)
def fuzz_app(request, graph, db_dir):
    """(bot, test client, drain) of one backend; ``drain`` runs the queued worker to empty."""
    mode, backend = request.param.split("-")
    if backend == "sqlite":
        url = f"sqlite:///{db_dir}/fuzz.db"
    else:
        server = request.getfixturevalue("postgres_server")
        name = f"fuzz_{uuid.uuid4().hex[:16]}"
        url = server.create_database(name)
        request.addfinalizer(lambda: server.drop_database(name))
    messenger = FacebookMessenger(
        TOKEN, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, graph_url=graph.url, timeout=2.0
    )
    config = {"mode": mode, "job_retry_wait": 0, "send_backoff": 0.01, "send_deadline": 5.0}
    rules = Dispatcher({"actions": {"welcome": {"func": echo_mid}}})
    bot = Bot(config, messenger, rules, Database(url))
    client = create_app(bot).test_client()
    if bot.queue is None:
        yield bot, client, lambda: None
    else:
        worker = WorkerSettings(wait=False, check_interval=0.5)
        yield bot, client, lambda: work(bot.queue, worker)
        bot.queue.close()
    bot.database.dispose()


@pytest.mark.filterwarnings("ignore")
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batch=st.one_of(
        fuzz_batches(),
        fuzz_batches(),
        bodies.map(lambda body: (body, {})),  # malformed anyhow: no event expected
    ),
    redelivered=st.booleans(),
)
def test_every_valid_event_is_handled_once_on_every_backend(fuzz_app, graph, batch, redelivered):
    """Random signed bodies: valid events with NUL, surrogates, odd numbers, extra fields and
    nesting, beside malformed events; on inline SQLite, inline and queued PostgreSQL."""
    bot, client, drain = fuzz_app
    body, expected = batch
    before = len(graph.messages())
    for _ in range(2 if redelivered else 1):  # Meta delivers a batch again now and then
        response = client.post(
            "/webhook",
            data=body,
            headers={"X-Hub-Signature-256": sign(body)},
            content_type="application/json",
        )
        assert response.status_code in (200, 400)
    drain()

    replies = [(r.body["recipient"]["id"], r.text) for r in graph.messages()[before:]]
    handled = {}
    for user, text in replies:
        mid, _, user_input = (text or "").partition("|")
        if mid in expected:
            assert mid not in handled, f"{mid} handled twice"
            handled[mid] = (user, user_input.strip())
    assert handled == {mid: (user, text.strip()) for mid, (user, text) in expected.items()}
