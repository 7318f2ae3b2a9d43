"""Small display defects of issue 16 item 12, in real Chromium: the hall statistics without
data draw no axes, the "只看超期" checkbox is a checkbox-sized box, the case statistics keep
their first column in view while the table scrolls sideways."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from linli.cases.tests.conftest import cats, open_case  # noqa: F401 -- fixtures
from tests.browser.test_window_application import log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("screenshot")]


def test_empty_hall_statistics_say_so_without_axes(
    transactional_db: None, live_server: Any, users: Any, browser_page: Page,
) -> None:
    page = browser_page
    log_in(page, live_server.url, username=users.street.username)
    page.goto(f"{live_server.url}/services/statistics/?start=2001-01-01&end=2001-01-31")
    boxes = page.locator(".chart-box")
    assert boxes.count() == 4
    for index in range(4):
        box = boxes.nth(index)
        assert box.locator("canvas").count() == 0
        assert "没有数据" in box.inner_text()


def test_the_overdue_filter_is_a_small_checkbox(
    transactional_db: None, live_server: Any, users: Any, browser_page: Page,
) -> None:
    page = browser_page
    log_in(page, live_server.url, username=users.street.username)
    page.goto(f"{live_server.url}/services/applications/")
    box = page.locator("input[type=checkbox][name=overdue]").bounding_box()
    assert box is not None
    assert box["width"] <= 24
    assert box["height"] <= 24


def test_case_statistics_keep_the_first_column_in_view(
    transactional_db: None, live_server: Any, users: Any, browser_page: Page, open_case: Any,  # noqa: F811
) -> None:
    open_case()
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, username=users.street.username)
    page.goto(f"{live_server.url}/cases/statistics/")
    first = page.locator("[data-testid=stats-table] tr th:first-child").first
    assert first.evaluate("cell => getComputedStyle(cell).position") == "sticky"
    before = first.bounding_box()
    page.locator(".table-scroll").first.evaluate("box => { box.scrollLeft = 400; }")
    after = first.bounding_box()
    assert before is not None
    assert after is not None
    assert after["x"] == pytest.approx(before["x"], abs=1)


def test_a_street_operator_raises_a_case_to_level_one_on_a_phone(
    transactional_db: None, live_server: Any, users: Any, browser_page: Page, open_case: Any, cats: Any,  # noqa: F811
) -> None:
    case = open_case(category=cats.rubbish)
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, username=users.street.username)
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    page.click("details.regrade summary")
    # a missing reason is named on the page and the level stays
    page.select_option("[data-testid=regrade-level]", "1")
    page.click("[data-testid=regrade-save]")
    assert "请填写原因" in page.locator("[data-testid=regrade-form]").inner_text()
    assert "1级" not in page.locator("[data-testid=case-level]").inner_text()
    page.select_option("[data-testid=regrade-level]", "1")
    page.fill("[data-testid=regrade-reason]", "楼道起火,涉及独居老人")
    page.click("[data-testid=regrade-save]")
    # then the level in words and the change on the timeline, with its reason
    assert page.locator("[data-testid=case-level]").inner_text() == "1级 · 特急"
    timeline = page.locator("[data-testid=timeline]").inner_text()
    assert "调整等级" in timeline
    assert "→ 1级 · 特急" in timeline
    assert "楼道起火,涉及独居老人" in timeline
