"""Prometheus metrics (``[metrics] enabled = true``), names and labels as DESIGN §14.

Nothing here costs a turn anything while metrics are off: the ``observe_*`` functions return
at once, and prometheus_client is imported only by :func:`enable`. Several gunicorn workers
share a multiprocess directory (prometheus_client's multiprocess mode) so that any worker's
``/metrics`` answers the sum of all of them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError

METRICS_OPTIONS = {"enabled": bool, "token": str, "directory": str, "port": int}
_STATE: dict[str, Any] = {}


def check_table(table: Any) -> list[str]:
    """Problems of a ``[metrics]`` table (unknown keys, wrong types), one line each."""
    if table is None:
        return []
    problems = []
    for key, value in table.items():
        expected = METRICS_OPTIONS.get(key)
        if expected is None:
            problems.append(
                f"[metrics] unknown option {key!r}; known: {', '.join(METRICS_OPTIONS)}"
            )
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            kind = "true or false" if expected is bool else expected.__name__
            problems.append(f"[metrics] {key} must be {kind}, got {value!r}")
    port = table.get("port")
    if isinstance(port, int) and not isinstance(port, bool) and not 1 <= port <= 65535:
        problems.append(f"[metrics] port must be from 1 to 65535, got {port}")
    return problems


def settings(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The checked ``[metrics]`` table when enabled, else None."""
    table = config.get("metrics") or {}
    problems = check_table(table)
    if problems:
        raise ConfigError("; ".join(problems), problems)
    return dict(table) if table.get("enabled") else None


def enable(table: Mapping[str, Any], *, shared: bool = False) -> None:
    """Create the metrics. ``shared``: several processes (gunicorn workers) serve one bot; the
    values go to ``[metrics] directory``, ``$PROMETHEUS_MULTIPROC_DIR`` or, failing both, a
    folder named after the parent process (the gunicorn master, common to its workers)."""
    if _STATE:
        return
    folder = table.get("directory") or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder is None and shared:
        folder = str(Path(tempfile.gettempdir()) / f"chatbotmaker-metrics-{os.getppid()}")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    from prometheus_client import Counter, Histogram, values

    values.ValueClass = values.get_value_class()  # multiprocess even if imported before
    _STATE.update(
        folder=folder,
        token=table.get("token"),
        turns=Counter("chatbotmaker_turns_total", "Messages handled", ["outcome"]),
        duration=Histogram("chatbotmaker_turn_duration_seconds", "Time to handle a message"),
        replies=Counter("chatbotmaker_replies_total", "Replies delivered", ["outcome"]),
        entries=Counter("chatbotmaker_state_entries_total", "Entries into a state", ["state"]),
    )


def observe_turn(outcome: str, seconds: float) -> None:
    if _STATE:
        _STATE["turns"].labels(outcome).inc()
        _STATE["duration"].observe(seconds)


def observe_replies(sent: int, failed: int) -> None:
    if _STATE:
        if sent:
            _STATE["replies"].labels("sent").inc(sent)
        if failed:
            _STATE["replies"].labels("failed").inc(failed)


def observe_entries(states: Iterable[str]) -> None:
    if _STATE:
        for state in states:
            _STATE["entries"].labels(state).inc()


def exposition(bot: Any = None) -> tuple[bytes, str]:
    """The metrics in Prometheus text format (all processes in multiprocess mode), with the
    queue's depth by status when ``bot`` is queued."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    registry = REGISTRY
    if _STATE.get("folder"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    if bot is not None and getattr(bot, "queue", None) is not None:
        registry = _with_queue_depth(registry, bot)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def _with_queue_depth(registry: Any, bot: Any) -> Any:
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import GaugeMetricFamily
    from sqlalchemy import text

    class QueueDepth:
        def collect(self) -> Iterable[Any]:
            family = GaugeMetricFamily(
                "chatbotmaker_queue_jobs", "procrastinate jobs by status", labels=["status"]
            )
            with bot.database.engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status")
                ).all()
            counts = dict(rows)
            for status in ("todo", "doing", "succeeded", "failed", "cancelled", "aborted"):
                family.add_metric([status], counts.get(status, 0))
            yield family

    combined = CollectorRegistry()
    combined.register(_Forward(registry))
    combined.register(QueueDepth())
    return combined


class _Forward:
    def __init__(self, registry: Any) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Any]:
        return self.registry.collect()


def authorized(header: str | None) -> bool:
    """Whether a request's ``Authorization`` header passes ``[metrics] token`` (if any)."""
    import hmac

    token = _STATE.get("token")
    if not token:
        return True
    return hmac.compare_digest((header or "").encode(), f"Bearer {token}".encode())


def add_route(app: Any, bot: Any, config: Mapping[str, Any], *, shared: bool) -> None:
    """``GET /metrics`` on ``app`` when ``[metrics] enabled = true`` in ``config``."""
    table = settings(config)
    if table is None:
        return
    enable(table, shared=shared)
    _route(app, bot)


#: where a queue worker serves its metrics unless ``[metrics] port`` says otherwise
WORKER_PORT = 9464


def serve_for_worker(bot: Any, config: Mapping[str, Any], host: str = "127.0.0.1") -> Any:
    """A queue worker's ``GET /metrics`` on ``[metrics] port`` (default 9464), served from a
    thread; None when metrics are off. Returns the server (``close()`` stops it)."""
    table = settings(config)
    if table is None:
        return None
    enable(table, shared=False)
    import threading

    from flask import Flask
    from waitress.server import create_server

    app = Flask("chatbotmaker.worker_metrics")
    _route(app, bot)
    port = table.get("port", WORKER_PORT)
    try:
        server = create_server(app, host=host, port=port, threads=2, ident="chatbotmaker")
    except OSError as error:
        raise ConfigError(
            f"[metrics] port {port}: cannot serve the worker's metrics ({error.strerror}); "
            f"choose a free port"
        ) from None
    threading.Thread(target=server.run, name="worker-metrics", daemon=True).start()
    return server


def _route(app: Any, bot: Any) -> None:
    from flask import Response, request

    @app.get("/metrics")
    def metrics():
        if not authorized(request.headers.get("Authorization")):
            return Response("a bearer token is required\n", 401, {"WWW-Authenticate": "Bearer"})
        body, content_type = exposition(bot)
        return Response(body, 200, {"Content-Type": content_type})
