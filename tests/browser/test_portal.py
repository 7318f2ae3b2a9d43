"""End to end in real Chromium on a phone-sized page: a resident registers by house with the
code from the (fake) SMS gateway, is matched, applies for an instant item and gets the
decision, reports a problem with a photo that the grid worker then handles and the community
closes, rates it, and reads a notice.

The staff's side of the report goes through the case services (their pages have browser
tests of their own, tests/browser/test_case_loop.py). Waits are on conditions only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from linli.accounts.models import Department
from linli.cases.models import Case, Category, DispatchRule
from linli.cases.taxonomy import taxonomy_load
from linli.notify.channels.registry import channel_setups
from linli.notify.fake_gateway import FakeGateway
from linli.notify.relay import Relay
from linli.portal.services import notice_publish
from linli.portal.tests.conftest import ZHANG_PHONE, home, sms  # noqa: F401 -- fixtures
from linli.portal.tests.helpers import close_report
from linli.portal.tests.test_resident import instant_item

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)
CODE_WAIT_SECONDS = 30


@pytest.fixture(autouse=True)
def _taxonomy(request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("db")
    if not Category.objects.exists():
        taxonomy_load(Department, Category, DispatchRule)


@pytest.fixture
def phone(chromium: Browser) -> Iterator[Page]:
    """A phone: small viewport, touch, Chinese locale."""
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                   has_touch=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


def code_from_gateway(fake: FakeGateway, to: str) -> str:
    """Relay the outbox until the fake gateway has delivered a code to ``to``."""
    relay = Relay(channel_setups(), threads=1, chunk=4)
    deadline = time.monotonic() + CODE_WAIT_SECONDS
    while time.monotonic() < deadline:
        relay.run_once()
        for entry in reversed(fake.recorder.entries):
            if entry.get("delivered") and entry.get("to") == to and entry.get("template") == "portal.code":
                return str(entry["params"]["code"])
        time.sleep(0.2)  # polling for a condition, bounded by the deadline
    raise AssertionError("no code reached the gateway")


def test_resident_registers_applies_reports_rates_and_reads(
        live_server: Any, tree: Any, users: Any, home: Any, sms: FakeGateway, phone: Page) -> None:  # noqa: F811
    # given an instant item (80+ allowance) and a community notice
    version = instant_item()
    notice_publish(actor=users.community_a, area_id=tree.community_a.pk, kind="notice", title="小区停水通知",
                   body="12月8日9:00-12:00停水")
    page, base = phone, live_server.url

    # when 张建国 registers by house
    page.goto(f"{base}/portal/")
    page.get_by_test_id("start-register").click()
    page.locator("#community").select_option(str(tree.community_a.pk))
    page.get_by_test_id("pick-community").get_by_role("button").click()
    page.locator("#building").select_option(str(home.building.pk))
    page.get_by_test_id("pick-building").get_by_role("button").click()
    page.locator("#unit").select_option(str(home.room_a.unit_id))
    page.get_by_test_id("pick-unit").get_by_role("button").click()
    form = page.get_by_test_id("register-form")
    form.locator("#room").select_option(str(home.room_a.pk))
    form.locator("#name").fill("张建国")
    form.locator("#phone").fill(ZHANG_PHONE)
    form.locator("#id_suffix").fill("0000")
    page.get_by_test_id("send-code").click()
    page.locator("#code").fill(code_from_gateway(sms, ZHANG_PHONE))
    page.get_by_test_id("submit-code").click()
    # then he is matched at once
    expect(page.get_by_test_id("bound")).to_be_visible()

    # when he applies for the instant item, then it is decided at once
    page.goto(f"{base}/portal/services/{version.item_id}/apply/")
    page.get_by_test_id("apply-submit").click()
    expect(page.get_by_test_id("application-status")).to_contain_text("准予")

    # when he reports a problem with a photo
    page.get_by_test_id("tab-reports").click()
    page.get_by_test_id("report-new").click()
    report = page.get_by_test_id("report-form")
    report.locator("#category").select_option("1101")
    report.locator("#description").fill("楼上深夜装修噪音")
    photo: FilePayload = {"name": "noise.png", "mimeType": "image/png", "buffer": PNG}
    report.locator("#photos").set_input_files([photo])
    page.get_by_test_id("report-submit").click()
    expect(page.get_by_test_id("report-status")).to_be_visible()
    case = Case.objects.get()
    # and the grid worker handles it and the community closes it
    close_report(case, community=users.community_a, worker=users.grid_worker_a1)
    page.reload()
    # then he rates it
    page.get_by_test_id("rate-submit").click()
    expect(page.get_by_test_id("rated")).to_be_visible()
    case.refresh_from_db()
    assert case.satisfaction == 5

    # when he opens the notices, then he reads the community's notice
    page.get_by_test_id("tab-notices").click()
    page.get_by_test_id("notice-list").get_by_role("link", name="小区停水通知").click()
    expect(page.get_by_test_id("notice-title")).to_have_text("小区停水通知")
