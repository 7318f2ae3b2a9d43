"""End to end in real Chromium: proactive care.

The district administrator writes a rule, sees its live count, saves it; the nightly sweep
runs; the grid worker, on a phone-sized page, finds the expiry work order and the due visit,
records the visit with a photo; the visit statistics move.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from linli.care.choices import BenefitSource
from linli.care.models import Benefit, Policy, Visit
from linli.care.services import policies_seed
from linli.care.services.sweep import sweep_run
from linli.care.workflow import shift_years
from linli.registry.models import Building, Person, PersonTag
from tests.browser.test_case_loop import log_in, photo

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("screenshot"),
    pytest.mark.django_db(transaction=True),
]


def test_rule_sweep_work_order_and_visit_in_the_browser(live_server: Any, tree: Any, users: Any,
                                                         browser_page: Page) -> None:
    # given the seed policies, an 86-year-old living alone whose 高龄津贴 ends in ten days, her son
    policies_seed()
    today = timezone.localdate()
    building = Building.objects.create(grid=tree.grid_a1, name="5幢", address="近江路5幢", lon=120.205, lat=30.205)
    elder = Person.objects.create(name="陈桂芳", name_pinyin="chenguifang", name_initials="cgf", grid=tree.grid_a1,
                                  birth_date=shift_years(today, 86), hukou="local", building=building)
    Person.objects.create(name="陈晓东", name_pinyin="chenxiaodong", name_initials="cxd", grid=tree.grid_a1,
                          birth_date=shift_years(today, 52), hukou="local", building=building)
    PersonTag.objects.create(person=elder, kind="living_alone_elder", source="民政", valid_from=date(2020, 1, 1))
    Benefit.objects.create(person=elder, policy=Policy.objects.get(code="gaoling_80"), starts_on=date(2024, 1, 1),
                           ends_on=today + timedelta(days=10), source=BenefitSource.MINZHENG_IMPORT)
    page = browser_page

    # when the administrator writes a rule and sees its count before saving
    log_in(page, live_server.url, users.district_admin)
    page.goto(f"{live_server.url}/care/rules/new/")
    page.get_by_test_id("rule-code").fill("zhucan_85")
    page.get_by_test_id("rule-name").fill("85岁以上独居老人助餐补贴")
    rule = {"all": [{"field": "age", "op": "gte", "value": 85},
                    {"field": "tags", "op": "has", "value": "living_alone_elder"}]}
    page.get_by_test_id("rule-json").fill(json.dumps(rule, ensure_ascii=False))
    expect(page.get_by_test_id("rule-count-value")).to_have_text("1")
    page.get_by_test_id("rule-save").click()
    expect(page).to_have_url(re.compile(r"/care/rules/$"))
    expect(page.get_by_test_id("rules")).to_contain_text("85岁以上独居老人助餐补贴")

    # and the nightly sweep runs
    sweep_run(on=today)

    # then the grid worker, on a phone, sees the work order and the due visit
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, users.grid_worker_a1)
    page.goto(f"{live_server.url}/care/")
    expect(page.get_by_test_id("work-order")).to_contain_text("陈桂芳")
    expect(page.get_by_test_id("work-order")).to_contain_text("到期")
    due = page.get_by_test_id("due-visit").filter(has_text="陈桂芳")
    expect(due).to_have_count(1)

    # and records the visit with a photo
    due.get_by_test_id("record-visit").click()
    page.get_by_label("较差").check()
    page.locator("textarea[name=notes]").fill("老人独自在家，提到近来腿疼")
    page.locator("textarea[name=needs]").fill("希望社区安排助餐")
    page.get_by_test_id("visit-photos").set_input_files([photo("visit.png")])
    page.get_by_test_id("visit-submit").click()
    expect(page.get_by_test_id("visit-title")).to_be_visible()
    expect(page.get_by_test_id("visit-photos-shown").locator("img")).to_have_count(1)
    assert Visit.objects.get(person=elder).findings["health"] == "poor"

    # and the recommendation for the new policy is on the person's page, the visit in the statistics
    page.goto(f"{live_server.url}/persons/{elder.pk}/")
    expect(page.get_by_test_id("person-recommendations")).to_contain_text("85岁以上独居老人助餐补贴")
    expect(page.get_by_test_id("person-visits")).to_contain_text("老人独自在家")
    page.goto(f"{live_server.url}/care/statistics/")
    expect(page.get_by_test_id("stat-visited")).to_have_text("1")
    # the charts draw (ECharts puts a canvas in each box): this month's visit and the colours
    expect(page.get_by_test_id("chart-months").locator("canvas")).to_have_count(1)
    expect(page.get_by_test_id("chart-colours").locator("canvas")).to_have_count(1)
    expect(page.get_by_test_id("month-coverage")).to_contain_text(today.strftime("%Y-%m"))
    expect(page.get_by_test_id("due-visit")).to_have_count(0)
