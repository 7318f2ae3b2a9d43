"""End to end in real Chromium: a case goes round the whole loop.

A grid worker reports on a phone-sized page (GPS from the browser, a photo) → a community
dispatcher dispatches it to 环卫所 → the department's handler accepts and reports back → the
grid worker verifies on site → the dispatcher closes it → the grid worker, who reported it,
rates it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import FilePayload, Geolocation, Page, expect

from conftest import make_user
from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import Department, User
from linli.cases.models import Case, Category, DispatchRule
from linli.cases.taxonomy import taxonomy_load

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("screenshot"),
    # The flush after a live-server test removes the seeded taxonomy: fixtures reload it.
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "Linli-test-2026"  # the root conftest's make_user default
IN_A1: Geolocation = {"longitude": 120.205, "latitude": 30.205}
# A minimal valid PNG (1×1 pixel).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


@pytest.fixture(autouse=True)
def _taxonomy(request: pytest.FixtureRequest) -> None:
    """The seeded catalogue, reloaded if a transactional test before us flushed it away."""
    request.getfixturevalue("db")
    if not Category.objects.exists():
        taxonomy_load(Department, Category, DispatchRule)


def photo(name: str) -> FilePayload:
    return {"name": name, "mimeType": "image/png", "buffer": PNG}


def log_in(page: Page, base_url: str, user: User) -> None:
    page.goto(f"{base_url}/login/")
    if page.get_by_test_id("logout").count():
        page.get_by_test_id("logout").click()
        page.goto(f"{base_url}/login/")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=username]").fill(user.username)
    form.locator("input[name=password]").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_contain_text(user.username)


def do(page: Page, action: str, **fields: Any) -> None:
    form = page.get_by_test_id(f"action-{action}")
    for testid, value in fields.items():
        if testid.startswith("rating"):
            form.get_by_test_id(f"rating-{value}").check()
        elif testid.startswith("target"):
            form.get_by_test_id(f"target-{action}").select_option(value)
        else:
            form.get_by_test_id(f"{testid}-{action}").fill(value)
    form.get_by_test_id(f"do-{action}").click()


def test_case_goes_round_the_loop_in_the_browser(live_server: Any, tree: Any, users: Any, browser_page: Page) -> None:
    # given no dispatch rules (so a person dispatches) and a handler at 环卫所
    DispatchRule.objects.all().delete()
    handler = make_user("hw_handler", Role.DEPARTMENT_STAFF, (tree.street, AssignmentKind.MEMBER),
                        department=Department.objects.get(code="huanwei"))
    worker, dispatcher = users.grid_worker_a1, users.community_a
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation(IN_A1)

    # when the grid worker reports with GPS and a photo
    log_in(page, live_server.url, worker)
    page.goto(f"{live_server.url}/cases/new/")
    expect(page.get_by_test_id("gps-status")).to_have_attribute("data-located", "true")
    page.get_by_test_id("report-major").select_option("市容环境")
    page.get_by_test_id("report-category").select_option("0101")
    page.get_by_test_id("report-description").fill("小区东门口有一堆建筑垃圾")
    page.get_by_test_id("report-photos").set_input_files(
        [photo("scene.png")])
    page.get_by_test_id("report-submit").click()
    expect(page).to_have_url(re.compile(r"/cases/\d+/$"))
    case_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    case_url = f"{live_server.url}/cases/{case_id}/"
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "registered")
    expect(page.get_by_test_id("case-grid")).to_have_text(tree.grid_a1.name)
    expect(page.get_by_test_id("case-photo")).to_have_count(1)

    # and a community dispatcher dispatches it to 环卫所 from the inbox
    log_in(page, live_server.url, dispatcher)
    page.goto(f"{live_server.url}/cases/")
    page.get_by_test_id("case-row").filter(has_text=Case.objects.get(pk=case_id).number) \
        .get_by_test_id("case-link").click()
    do(page, "dispatch", target="dept:huanwei")
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "dispatched")

    # and the handler accepts and reports back with a photo
    log_in(page, live_server.url, handler)
    page.goto(case_url)
    do(page, "accept")
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "accepted")
    page.get_by_test_id("action-report_back").get_by_test_id("photos-report_back").set_input_files(
        [photo("done.png")])
    do(page, "report_back", note="已清运完毕")
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "handled")

    # and the grid worker verifies on site
    log_in(page, live_server.url, worker)
    page.goto(case_url)
    do(page, "verify_pass")
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "verified")

    # and the dispatcher closes it
    log_in(page, live_server.url, dispatcher)
    page.goto(case_url)
    do(page, "close")
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "closed")

    # and the reporter rates it
    log_in(page, live_server.url, worker)
    page.goto(case_url)
    do(page, "evaluate", rating=5)

    # then the case is evaluated, with every step on its timeline and both photos
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "evaluated")
    expect(page.get_by_test_id("case-satisfaction")).to_contain_text("5")
    expect(page.get_by_test_id("case-photo")).to_have_count(2)
    actions = page.get_by_test_id("timeline-event").evaluate_all("els => els.map(e => e.dataset.action)")
    assert actions == ["open", "register", "dispatch", "accept", "report_back", "verify_pass", "close",
                       "evaluate"]
