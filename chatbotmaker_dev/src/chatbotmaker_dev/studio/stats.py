"""The statistics painted on the diagram, when the operations issue's statistics exist.

Integration point: :func:`state_counts` returns ``{state: users in it}``, or ``{}`` while
``chatbotmaker_core.stats`` is not installed (the diagram then shows no counts).
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def state_counts(config_path: str | Path) -> dict[str, int]:
    try:
        from chatbotmaker_core import stats  # type: ignore[attr-defined]
    except ImportError:
        return {}
    counter = getattr(stats, "state_counts", None)
    if counter is None:
        return {}
    try:
        return {str(k): int(v) for k, v in dict(counter(str(config_path))).items()}
    except Exception:  # noqa: BLE001 - statistics are a decoration: never break the page
        log.debug("statistics unavailable", exc_info=True)
        return {}
