"""What the load test sends: Meta-shaped webhook bodies, signed, grouped into lanes.

Each user belongs to one lane and its messages are in order in it, so that a lane posting one
body after the other (as Meta does for a page) keeps each user's order.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass

from devsupport.facebook import sign
from load_bot.scenarios import Load

PAGE_ID = "100000000000001"
USER_BASE = 7100000000000000  # PSIDs are numeric strings
WARMUP_BASE = 7900000000000000


@dataclass(eq=False)
class Event:
    user: str
    seq: int  # the user's n-th message, from 1
    mid: str
    text: str
    timed: bool = True  # False for warm-up events
    sent_at: float | None = None  # first attempt of the POST carrying it
    replied_at: float | None = None  # the Graph API received its reply

    @property
    def reply(self) -> str:
        return f"{self.user}:{self.seq}:{self.text}"


@dataclass(eq=False)
class Body:
    raw: bytes
    signature: str
    events: list[Event]
    redelivery: bool = False
    started: float | None = None
    done: float | None = None  # got a non-5xx answer
    status: int | None = None
    attempts: int = 0
    error: str | None = None
    path: str = "/webhook"  # the webhook it is posted to (``channels.py``: one per channel)


def message_text(seq: int) -> str:
    # Some texts need \\u escapes in the body, as Meta sends them: the signature covers those.
    return f"hello {seq}" + (" café ☕" if seq % 5 == 0 else "")


def make_body(events: list[Event], secret: str, rng: random.Random) -> Body:
    now = int(time.time() * 1000)
    messaging = [
        {
            "sender": {"id": e.user},
            "recipient": {"id": PAGE_ID},
            "timestamp": now,
            "message": {"mid": e.mid, "text": e.text},
        }
        for e in events
    ]
    if len(messaging) > 1 and rng.random() < 0.5:  # Meta batches as entries or as messaging
        entries = [{"id": PAGE_ID, "time": now, "messaging": [m]} for m in messaging]
    else:
        entries = [{"id": PAGE_ID, "time": now, "messaging": messaging}]
    raw = json.dumps({"object": "page", "entry": entries}).encode()  # ASCII, \\u escapes
    return Body(raw, sign(raw, secret), events)


def build_lanes(load: Load, tag: str, secret: str) -> list[list[Body]]:
    """The timed bodies, one list per lane. A lane's users are interleaved in its bodies; a
    user's messages are in order within its lane, and a user is in one lane only."""
    rng = random.Random(f"{load.seed}:{tag}")
    users = [str(USER_BASE + i) for i in range(load.users)]
    count = max(1, min(load.concurrency, len(users)))
    lanes: list[list[Body]] = []
    for k in range(count):
        mine = users[k::count]
        events = [
            Event(u, seq, f"m_{tag}_{u}_{seq}", message_text(seq))
            for seq in range(1, load.messages + 1)
            for u in mine
        ]
        bodies = []
        i = 0
        while i < len(events):
            size = 1
            if load.max_batch > 1 and rng.random() < load.batch_share:
                size = rng.randint(2, load.max_batch)
            bodies.append(make_body(events[i : i + size], secret, rng))
            i += size
        lanes.append(bodies)
    for r in range(load.redeliveries):
        lane = lanes[r % count]
        originals = [i for i, b in enumerate(lane) if not b.redelivery]
        if not originals:
            continue
        i = rng.choice(originals)
        copy = Body(lane[i].raw, lane[i].signature, lane[i].events, redelivery=True)
        lane.insert(min(i + 1 + rng.randint(0, 3), len(lane)), copy)
    return lanes


def build_warmup(load: Load, tag: str, secret: str) -> list[list[Body]]:
    rng = random.Random(f"{load.seed}:{tag}:warmup")
    lanes = []
    for i in range(load.warmup_users):
        user = str(WARMUP_BASE + i)
        event = Event(user, 1, f"w_{tag}_{user}", message_text(1), timed=False)
        lanes.append([make_body([event], secret, rng)])
    return lanes


def events_of(lanes: Iterable[list[Body]]) -> list[Event]:
    return [e for lane in lanes for body in lane if not body.redelivery for e in body.events]
