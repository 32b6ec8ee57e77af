"""Fixtures of the example backends' tests: the examples on sys.path, a job server, and a headless
Chromium driven by Playwright.

The browser tests (marked ``browser``) need Debian's ``chromium`` (``/usr/bin/chromium``, or
``$ASYNCJOBS_CHROMIUM``) and the ``playwright`` package (the ``test`` extra). Where either is
missing they are skipped with a reason that says how to get them, unless
``ASYNCJOBS_REQUIRE_BROWSER=1`` (``.ci/run`` sets it): then they fail, so that CI never skips
them silently. Playwright never downloads a browser here: it drives the Debian binary.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from asyncjobs.testing import JobServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCREENSHOTS = ROOT / "build" / "screenshots"

if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))

CHROMIUM = os.environ.get("ASYNCJOBS_CHROMIUM", "/usr/bin/chromium")
# As the machine's own probe starts it: no sandbox (root), and no background traffic to hosts
# that a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOW_TO_RUN = (
    "install chromium with apt (apt-get install -y chromium) and the test extra "
    "(pip install -e '.[test]', which brings playwright); .ci/run does both"
)


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return f"playwright is not installed: {HOW_TO_RUN}"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM}: {HOW_TO_RUN}"
    return None


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason``, or fail when ``ASYNCJOBS_REQUIRE_BROWSER=1`` (CI)."""
    if os.environ.get("ASYNCJOBS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"ASYNCJOBS_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """asyncio (aiohttp cannot run on trio), for the whole module: the browser is shared."""
    return "asyncio"


@pytest.fixture(scope="module")
async def browser(anyio_backend: str) -> AsyncIterator[Any]:
    """One headless Debian Chromium for the module, driven by Playwright."""
    reason = browser_missing()
    if reason is not None:
        skip_or_fail(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A fresh page in its own browser context, closed after the test."""
    context = await browser.new_context(viewport={"width": 900, "height": 420})
    try:
        yield await context.new_page()
    finally:
        await context.close()


@pytest.fixture
async def server() -> AsyncIterator[JobServer]:
    """A JobServer that never moves a job by itself: the test drives every change."""
    async with JobServer(heartbeat=5.0) as server:
        yield server


@pytest.fixture
def screenshots() -> Path:
    """Where the tests leave their screenshots (``build/``, not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
