"""The two-channel load: Messenger and WhatsApp in one bot (``[messengers.facebook]`` and
``[messengers.whatsapp]``), their webhook bodies, and the checks made per channel.

Users overlap on purpose: the same numeric id is a Messenger user and a WhatsApp user, two
users with their own counters. Their texts differ (``"hello n"`` / ``"wa hello n"``), so a
reply names the event it answers, and the fake Graph API records which endpoint got it
(``/me/messages``: kind ``"message"``; ``/{phone_number_id}/messages``: ``"wa_message"``):
a WhatsApp user's reply sent through Messenger (or the other way round) is a crossed reply.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from devsupport.facebook import sign
from load_bot.scenarios import Load, Scenario
from load_bot.workload import USER_BASE, WARMUP_BASE, Body, Event, make_body, message_text

CHANNELS = ("facebook", "whatsapp")
#: the record kind of a message reaching each channel's Send API (``graph_server.py``)
KIND = {"facebook": "message", "whatsapp": "wa_message"}
PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"

MIXED_CONFIG_TEMPLATE = """\
# Written by benchmarks/webhook_load.py for scenario {scenario}.
[bot]
initial_state = "welcome"
mode = "{mode}"

[messengers.facebook]
page_access_token = "${{FACEBOOK_PAGE_TOKEN}}"
app_secret = "${{FACEBOOK_APP_SECRET}}"
verify_token = "${{FACEBOOK_VERIFY_TOKEN}}"
graph_url = "{graph_url}"
turn_action = "{turn_action}"

[messengers.whatsapp]
access_token = "${{WHATSAPP_TOKEN}}"
phone_number_id = "{phone_number_id}"
app_secret = "${{FACEBOOK_APP_SECRET}}"
verify_token = "${{FACEBOOK_VERIFY_TOKEN}}"
graph_url = "{graph_url}"
turn_action = "{wa_turn_action}"

[database]
name = "sqlalchemy"
url = "{database_url}"

[rules]
name = "python"
source = "load_bot.rules:RULES"

[worker]
concurrency = {worker_concurrency}
"""


def mixed_config(**values: Any) -> str:
    """The config of a two-channel scenario; WhatsApp has no typing indicator, only receipts."""
    action = values["turn_action"]
    wa_action = action if action in ("none", "mark_seen") else "none"
    return MIXED_CONFIG_TEMPLATE.format(
        phone_number_id=PHONE_NUMBER_ID, wa_turn_action=wa_action, **values
    )


@dataclass(eq=False)
class ChannelEvent(Event):
    channel: str = "facebook"


def wa_text(seq: int) -> str:
    return "wa " + message_text(seq)


def make_wa_body(events: list[Event], secret: str, rng: random.Random) -> Body:
    """A Cloud API webhook body: the messages in one change's value, or one change each."""
    now = str(int(time.time()))
    messages = [
        {"from": e.user, "id": e.mid, "timestamp": now, "type": "text", "text": {"body": e.text}}
        for e in events
    ]
    metadata = {"display_phone_number": "15550001234", "phone_number_id": PHONE_NUMBER_ID}

    def change(items: list[dict[str, Any]]) -> dict[str, Any]:
        contacts = [{"profile": {"name": "Load"}, "wa_id": m["from"]} for m in items]
        value = {
            "messaging_product": "whatsapp",
            "metadata": metadata,
            "contacts": contacts,
            "messages": items,
        }
        return {"field": "messages", "value": value}

    if len(messages) > 1 and rng.random() < 0.5:
        changes = [change([m]) for m in messages]
    else:
        changes = [change(messages)]
    body = {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": changes}]}
    raw = json.dumps(body).encode()
    return Body(raw, sign(raw, secret), events, path="/webhook/whatsapp")


def _bodies(
    events: list[Event], channel: str, load: Load, secret: str, rng: random.Random
) -> list[Body]:
    make = make_wa_body if channel == "whatsapp" else make_body
    bodies, i = [], 0
    while i < len(events):
        size = 1
        if load.max_batch > 1 and rng.random() < load.batch_share:
            size = rng.randint(2, load.max_batch)
        body = make(events[i : i + size], secret, rng)
        body.path = f"/webhook/{channel}"
        bodies.append(body)
        i += size
    return bodies


def _event(channel: str, user: str, seq: int, tag: str, timed: bool = True) -> ChannelEvent:
    if channel == "whatsapp":
        mid, text = f"wamid.{tag}_{user}_{seq}", wa_text(seq)
    else:
        mid, text = f"m_{tag}_{user}_{seq}", message_text(seq)
    return ChannelEvent(user, seq, mid, text, timed=timed, channel=channel)


def build_mixed_lanes(load: Load, tag: str, secret: str) -> list[list[Body]]:
    """``load.users`` users, half on each channel with the same ids. A user is in one lane and
    in order in it; id X's WhatsApp user sits in the lane after its Messenger namesake's, so the
    two are handled at the same time. A lane alternates its two channels' bodies."""
    rng = random.Random(f"{load.seed}:{tag}")
    ids = [str(USER_BASE + i) for i in range(max(1, load.users // 2))]
    count = max(1, min(load.concurrency, len(ids) * 2))
    lanes: list[list[Body]] = []
    for k in range(count):
        per_channel = []
        for shift, channel in enumerate(CHANNELS):
            mine = [u for i, u in enumerate(ids) if (i + shift) % count == k]
            events = [
                _event(channel, u, seq, tag) for seq in range(1, load.messages + 1) for u in mine
            ]
            per_channel.append(_bodies(events, channel, load, secret, rng))
        lane: list[Body] = []
        for pair in zip(*per_channel, strict=False):
            lane.extend(pair)
        longest = max(per_channel, key=len)
        lane.extend(longest[len(min(per_channel, key=len)) :])
        lanes.append(lane)
    for r in range(load.redeliveries):
        lane = lanes[r % count]
        originals = [i for i, b in enumerate(lane) if not b.redelivery]
        if not originals:
            continue
        i = rng.choice(originals)
        old = lane[i]
        copy = Body(old.raw, old.signature, old.events, redelivery=True, path=old.path)
        lane.insert(min(i + 1 + rng.randint(0, 3), len(lane)), copy)
    return lanes


def build_mixed_warmup(load: Load, tag: str, secret: str) -> list[list[Body]]:
    """One message per warm-up user, alternating channels, so both messengers are loaded."""
    rng = random.Random(f"{load.seed}:{tag}:warmup")
    lanes = []
    for i in range(load.warmup_users):
        channel = CHANNELS[i % 2]
        event = _event(channel, str(WARMUP_BASE + i // 2), 1, f"w_{tag}", timed=False)
        lanes.append(_bodies([event], channel, load, secret, rng))
    return lanes


def check_channels(
    scenario: Scenario,
    database_url: str | None,
    events: list[Event],
    bodies: list[Body],
    records: list[tuple[float, str, str | None, str | None]],
    problems: list[str],
) -> dict[str, Any]:
    """Per channel: each user's counter is its number of distinct ids, every reply reached
    that channel's Send API (never the other's) and each user's replies came as n = 1, 2..."""
    from sqlalchemy import and_, select, text

    from chatbotmaker_core import Database
    from load_bot.rules import COUNTER

    once: list[str] = []
    lost = [b for b in bodies if b.done is None or b.status != 200]
    if lost:
        once.append(f"{len(lost)} bodies never got a 200 (e.g. {lost[0].path}: {lost[0].error})")
    expected: Counter[tuple[str, str]] = Counter((_channel(e), e.user) for e in events)
    mids = {e.mid for e in events}

    database = Database(database_url)
    models = database.models
    try:
        with database.engine.connect() as conn:
            rows = conn.execute(
                select(models.User.channel, models.User.fb_id, models.Argument.value).join(
                    models.Argument,
                    and_(
                        models.Argument.user_id == models.User.id,
                        models.Argument.name == COUNTER,
                    ),
                    isouter=True,
                )
            ).all()
            handled = set(conn.execute(select(models.HandledMessage.message_id)).scalars())
            jobs: dict[str, int] = {}
            if scenario.mode == "queued":
                query = "SELECT status, count(*) FROM procrastinate_jobs GROUP BY 1"
                jobs = {status: n for status, n in conn.execute(text(query))}
    finally:
        database.dispose()

    counters = {(channel, user): value for channel, user, value in rows}
    per_channel: dict[str, dict[str, Any]] = {}
    for channel in CHANNELS:
        mine = {key: n for key, n in expected.items() if key[0] == channel}
        wrong = [f"{u}: {counters.get((c, u))} != {n}" for (c, u), n in mine.items()
                 if counters.get((c, u)) != n]  # fmt: skip
        if wrong:
            once.append(f"{channel}: {len(wrong)} users' counters wrong ({', '.join(wrong[:4])})")
        strangers = {u for c, u in counters if c == channel} - {u for _, u in mine}
        if strangers:
            once.append(f"{channel}: {len(strangers)} users nobody sent as")
        per_channel[channel] = {"users": len(mine), "events": sum(mine.values())}
    others = {c for c, _ in counters} - set(CHANNELS)
    if others:
        once.append(f"users on unknown channels: {sorted(others)}")
    if handled != mids:
        once.append(f"handled ids: {len(mids - handled)} missing, {len(handled - mids)} extra")
    bad_jobs = {k: n for k, n in jobs.items() if k != "succeeded"}
    if bad_jobs:
        once.append(f"queue jobs not succeeded: {bad_jobs}")

    by_reply = {(e.user, e.reply): e for e in events}  # texts differ per channel: unique keys
    channel_of = {kind: channel for channel, kind in KIND.items()}
    arrivals: Counter[tuple[str, str]] = Counter()
    sequence: dict[tuple[str, str], list[int]] = defaultdict(list)
    crossed: list[str] = []
    unexpected: list[str] = []
    for _, kind, recipient, text_ in records:
        if kind not in channel_of:
            continue
        key = (recipient or "", text_ or "")
        event = by_reply.get(key)
        if event is None:
            unexpected.append(f"{kind} {recipient}: {text_!r}")
            continue
        if _channel(event) != channel_of[kind]:
            crossed.append(f"{_channel(event)} user {event.user}'s {text_!r} sent via {kind}")
            continue
        arrivals[key] += 1
        if arrivals[key] == 1:
            sequence[(_channel(event), event.user)].append(event.seq)
    missing = [key for key in by_reply if arrivals[key] == 0]
    if missing:
        once.append(f"{len(missing)} replies never reached their channel, e.g. {missing[:3]}")
    if unexpected:
        once.append(f"{len(unexpected)} unexpected messages sent, e.g. {unexpected[:3]}")
    if crossed:
        once.append(f"{len(crossed)} replies crossed channels, e.g. {crossed[:3]}")
    order = [
        f"{channel} user {user}: n = {seqs[:12]}"
        for (channel, user), seqs in sequence.items()
        if seqs != list(range(1, len(seqs) + 1))
    ]
    if order:
        order = [f"{len(order)} users' replies out of order; {order[0]}"]
    for channel in CHANNELS:
        per_channel[channel]["duplicate_replies"] = sum(
            n - 1 for key, n in arrivals.items() if _channel(by_reply[key]) == channel
        )
    problems.extend(once + order)
    return {
        "exactly_once": not once,
        "order_ok": not order,
        "crossed_replies": len(crossed),
        "duplicate_replies": sum(n - 1 for n in arrivals.values() if n > 1),
        "users": len(expected),
        "distinct_ids": len(mids),
        "channels": per_channel,
        "jobs": jobs,
    }


def _channel(event: Event) -> str:
    return getattr(event, "channel", "facebook")
