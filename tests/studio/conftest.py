"""Fixtures of the studio tests: a project folder, the studio serving it, and Chromium.

Browser tests run in Debian's ``chromium`` (``/usr/bin/chromium``, or ``$STUDIO_CHROMIUM``)
driven by Playwright; without it they are skipped, except under CI where they must run.
``STUDIO_SCREENSHOTS=docs/studio`` makes the browser tests save the screenshots of
docs/studio.md.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from studio_helpers import Served, serve_studio, write_shop

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def chromium_path() -> str | None:
    path = os.environ.get("STUDIO_CHROMIUM") or "/usr/bin/chromium"
    return path if Path(path).exists() else shutil.which("chromium")


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """The config of a small flow project (shop.flow.yaml, with comments)."""
    return write_shop(tmp_path)


@pytest.fixture
def studio(shop: Path) -> Iterator[Served]:
    with serve_studio(shop) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module."""
    executable = chromium_path()
    if executable is None:
        reason = "browser tests need Debian's chromium (apt-get install chromium)"
        if _under_ci():
            pytest.fail(f"{reason}; under CI they must run", pytrace=False)
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if _under_ci():
            pytest.fail("playwright is missing (make install: the dev group)", pytrace=False)
        pytest.skip("browser tests need playwright (pip install --group dev)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class PageProblems:
    """Console errors and uncaught exceptions of a page. An HTTP error status the test
    expects (a refused save answers 422) may be listed in ``expected_statuses``: Chromium
    logs those responses as console errors too."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.expected_statuses: set[int] = set()

    def unexpected(self) -> list[str]:
        allowed = tuple(
            f"Failed to load resource: the server responded with a status of {status}"
            for status in self.expected_statuses
        )
        return [m for m in self.messages if not m.startswith(allowed)]


@pytest.fixture
def page(browser: Any, studio: Served) -> Iterator[Any]:
    """A fresh page; the test fails if the page logged a console error or threw. It depends
    on ``studio`` so that it closes before the server stops (no request cut mid-way)."""
    context = browser.new_context(viewport={"width": 1500, "height": 950})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems = PageProblems()
    page.on(
        "console",
        lambda message: problems.messages.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.messages.append(f"page error: {error}"))
    page.problems = problems
    try:
        yield page
    finally:
        context.close()
    assert problems.unexpected() == [], "the page's JavaScript logged errors"
