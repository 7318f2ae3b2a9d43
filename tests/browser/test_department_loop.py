"""End to end in real Chromium, on the demo street's own areas and accounts: a resident's
report about a family in hardship goes round the loop through 民政办 (#16.1).

The community registers it and dispatches it to 民政办 → the demo's 民政 user ``dept_mz``
finds it in the inbox, accepts it and reports back → the grid's worker verifies on site →
the community closes it. Before, ``dept_mz`` carried "民政" while the case named "minzheng":
the inbox was empty and the case page a 404.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment, Department, User
from linli.cases.models import Case, Category, DispatchRule
from linli.cases.services import case_open
from linli.cases.taxonomy import taxonomy_load
from linli.core.actors import SystemActor
from linli.demo.accounts import DEMO_PASSWORD
from linli.demo.services import demo_seed
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from tests.browser.test_case_loop import do

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("screenshot"),
    pytest.mark.django_db(transaction=True),
]


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    if page.get_by_test_id("logout").count():
        page.get_by_test_id("logout").click()
        page.goto(f"{base_url}/login/")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()


def member_of(area: Area, role: Role, kind: AssignmentKind) -> User:
    return AreaAssignment.objects.select_related("user").get(area=area, user__role=role, kind=kind).user


def test_a_case_goes_round_the_loop_through_the_demo_civil_affairs_office(live_server: Any, browser_page: Page) -> None:
    # given the demo street's areas and accounts, and a resident's report in its first grid
    if not Category.objects.exists():  # the flush after a live-server test removed the seed
        taxonomy_load(Department, Category, DispatchRule)
    demo_seed(actor=SystemActor("command:seed"), residents=0, seed=1, street_only=True, analyze=False)
    grid = Area.objects.filter(level=AreaLevel.GRID).order_by("code").first()
    assert grid is not None
    assert grid.centroid_lon is not None
    assert grid.centroid_lat is not None
    community = Area.objects.get(pk=int(grid.path.strip("/").split("/")[2]))
    dispatcher = member_of(community, Role.COMMUNITY_STAFF, AssignmentKind.MEMBER)
    worker = member_of(grid, Role.GRID_WORKER, AssignmentKind.PRIMARY)
    case, _ = case_open(actor=User.objects.get(username="resident"), source="resident", category="1503",
                        description="楼下独居老人生活困难,想申请救助", lon=grid.centroid_lon, lat=grid.centroid_lat)
    case_url = f"{live_server.url}/cases/{case.pk}/"
    page = browser_page

    # when the community registers it and dispatches it to 民政办
    log_in(page, live_server.url, dispatcher.username)
    page.goto(f"{live_server.url}/cases/")
    page.get_by_test_id("case-row").filter(has_text=case.number).get_by_test_id("case-link").click()
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/$"))
    do(page, "register")
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "registered")
    do(page, "dispatch", target="dept:minzheng")
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "dispatched")

    # and the demo's 民政 user finds it in the inbox, accepts it and reports back
    log_in(page, live_server.url, "dept_mz")
    page.goto(f"{live_server.url}/cases/")
    page.get_by_test_id("case-row").filter(has_text=case.number).get_by_test_id("case-link").click()
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "dispatched")
    do(page, "accept")
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "accepted")
    do(page, "report_back", note="已上门核实,协助老人提交低保申请材料")
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "handled")

    # and the grid's worker verifies on site
    log_in(page, live_server.url, worker.username)
    page.goto(case_url)
    do(page, "verify_pass")
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "verified")

    # and the community closes it
    log_in(page, live_server.url, dispatcher.username)
    page.goto(case_url)
    do(page, "close")

    # then the case is closed, handled by 民政办, every step on its timeline
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "closed")
    expect(page.get_by_text("民政办")).not_to_have_count(0)
    actions = page.get_by_test_id("timeline-event").evaluate_all("els => els.map(e => e.dataset.action)")
    assert actions == ["open", "register", "dispatch", "accept", "report_back", "verify_pass", "close"]
    closed = Case.objects.get(pk=case.pk)
    assert closed.department == Department.objects.get(code="minzheng")
    assert closed.events.get(action="report_back").actor == User.objects.get(username="dept_mz")
