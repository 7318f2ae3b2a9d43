"""End to end in Chromium: the field app locks with the worker's PIN after inactivity, and
five wrong PINs end the session and delete what the phone kept."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_case_loop import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("screenshot"),
    pytest.mark.django_db(transaction=True),
]
SLOW = 30_000
IDLE = "() => localStorage.setItem('field-active', String(Date.now() - 60 * 60 * 1000))"


def test_pin_lock_after_inactivity_and_five_wrong_pins_sign_out(
    live_server: Any, users: Any, browser_page: Page
) -> None:
    # given the worker set a PIN
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, users.grid_worker_a1)
    page.goto(f"{live_server.url}/field/pin/")
    page.get_by_test_id("pin-new").fill("2468")
    page.get_by_test_id("pin-again").fill("2468")
    page.get_by_test_id("pin-save").click()
    expect(page.locator("body")).to_have_attribute("data-pin-set", "1", timeout=SLOW)

    # when an hour passes without a touch
    page.evaluate(IDLE)
    page.goto(f"{live_server.url}/field/")

    # then the app is covered until the right PIN is typed
    expect(page.get_by_test_id("pin-lock")).to_be_visible(timeout=SLOW)
    page.get_by_test_id("pin-input").fill("1111")
    page.get_by_test_id("pin-unlock").click()
    expect(page.get_by_test_id("pin-error")).to_contain_text("4")
    page.get_by_test_id("pin-input").fill("2468")
    page.get_by_test_id("pin-unlock").click()
    expect(page.get_by_test_id("pin-lock")).to_be_hidden()

    # and five wrong PINs sign out and delete the phone's data
    page.evaluate(IDLE)
    page.reload()
    expect(page.get_by_test_id("pin-lock")).to_be_visible(timeout=SLOW)
    for attempt in range(5):
        page.get_by_test_id("pin-input").fill("0000")
        page.get_by_test_id("pin-unlock").click()
        if attempt < 4:
            expect(page.get_by_test_id("pin-error")).to_contain_text(str(4 - attempt))
    page.wait_for_url(f"{live_server.url}/login/**", timeout=SLOW)
    assert page.evaluate("() => localStorage.getItem('field-pin')") is None
