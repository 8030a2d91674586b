"""What to run: the server set-ups (``Scenario``, ``SCENARIOS``), how much load to send
(``Load``, ``QUICK``) and the bot's configuration file for a scenario.
"""

from __future__ import annotations

from dataclasses import dataclass

CONFIG_TEMPLATE = """\
# Written by benchmarks/webhook_load.py for scenario {scenario}.
[bot]
initial_state = "welcome"
mode = "{mode}"

[messenger]
name = "facebook"
page_access_token = "${{FACEBOOK_PAGE_TOKEN}}"
app_secret = "${{FACEBOOK_APP_SECRET}}"
verify_token = "${{FACEBOOK_VERIFY_TOKEN}}"
graph_url = "{graph_url}"
turn_action = "{turn_action}"

[database]
name = "sqlalchemy"
url = "{database_url}"

[rules]
name = "python"
source = "load_bot.rules:RULES"

[worker]
concurrency = {worker_concurrency}
"""


@dataclass(frozen=True)
class Scenario:
    """One server set-up. ``mode``: ``inline``, ``queued``, ``handwritten`` (the same work
    as inline with no framework: ``load_bot/handwritten_app.py``) or ``bare`` (a Flask app
    that answers 200 and does nothing else: the web stack's ceiling, no replies to wait
    for)."""

    name: str
    mode: str
    database: str = "postgresql"  # or "sqlite" (inline, handwritten), ignored by "bare"
    web_workers: int = 4
    web_worker_class: str = "sync"
    queue_workers: int = 0
    worker_concurrency: int = 4
    gunicorn_args: tuple[str, ...] = ()  # more options, e.g. ("--threads", "4")
    mixed: bool = False  # Messenger and WhatsApp users at once (``channels.py``)

    @property
    def expects_replies(self) -> bool:
        return self.mode != "bare"

    @property
    def needs_postgres(self) -> bool:
        return self.mode != "bare" and self.database == "postgresql"


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("bare", "bare"),
        Scenario("handwritten-pg", "handwritten"),
        Scenario("handwritten-sqlite", "handwritten", database="sqlite"),
        Scenario("inline-pg", "inline"),
        Scenario("inline-sqlite", "inline", database="sqlite"),
        Scenario("inline-pg-mixed", "inline", mixed=True),
        Scenario("queued-1", "queued", queue_workers=1),
        Scenario("queued-2", "queued", queue_workers=2),
        Scenario("queued-4", "queued", queue_workers=4),
    )
}


@dataclass(frozen=True)
class Load:
    """How much to send, and how."""

    users: int = 100
    messages: int = 16  # per user
    concurrency: int = 16  # lanes posting at once
    batch_share: float = 0.2  # share of bodies carrying several events
    max_batch: int = 4
    redeliveries: int = 12  # bodies posted again after their 200
    warmup_users: int = 16  # one message each, before the timed part (checked too)
    rate: float = 0.0  # events/s offered; 0 = as fast as the webhook answers
    turn_action: str = "none"  # [messenger] turn_action: "none" = one Send API call per event
    post_attempts: int = 5
    post_timeout: float = 30.0
    scenario_timeout: float = 150.0  # posting and waiting for replies, per scenario
    seed: int = 20260101

    @property
    def events(self) -> int:
        return self.users * self.messages


QUICK = Load(users=24, messages=8, redeliveries=4, warmup_users=8, scenario_timeout=40.0)
