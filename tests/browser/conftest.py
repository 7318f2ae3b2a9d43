"""Browser fixtures: Playwright driving the Debian Chromium package (no browser downloads).

Chromium comes from ``LINLI_TEST_CHROMIUM`` (``make test`` sets it), else ``/usr/bin/chromium``
or ``chromium`` on PATH. When it is missing the browser tests skip, except under CI, where a
missing browser is a failure: CI must never go green without having run them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SCREENS_DIR = Path(__file__).resolve().parents[2] / ".test-data" / "screens"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    configured = os.environ.get("LINLI_TEST_CHROMIUM")
    for candidate in (configured, "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        message = "Chromium not found (apt-get install chromium, or set LINLI_TEST_CHROMIUM)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API keeps an event loop in this thread; Django would then refuse ORM
    # calls from the test body. The test body is plain synchronous code, so allow it.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def browser_page(chromium: Browser) -> Iterator[Page]:
    """A fresh page (own cookies) on a phone-and-desk-friendly viewport, Chinese locale."""
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(browser_page: Page, request: pytest.FixtureRequest) -> Iterator[None]:
    """Leaves a screenshot of the last page in .test-data/screens/ for humans, pass or fail."""
    yield
    SCREENS_DIR.mkdir(parents=True, exist_ok=True)
    database = "postgres" if os.environ.get("LINLI_DATABASE_URL", "").startswith("postg") else "sqlite"
    path = SCREENS_DIR / f"{request.node.name}-{database}.png"
    browser_page.screenshot(path=str(path), full_page=True)
