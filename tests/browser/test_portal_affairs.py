"""In real Chromium: community staff put up a 两委 member with a photo and a new residents'
convention on the workbench; a resident signs in on a phone with the code from the (fake)
SMS gateway, finds them beside 三务公开, sees the household's benefits with the living
certification due, and asks for the home visit for the elder of the family."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from linli.portal.models import LivingCertification
from linli.portal.tests.conftest import ZHANG_PHONE, home, sms  # noqa: F401 -- fixtures
from linli.portal.tests.helpers import bound_resident, grant_pension
from tests.browser.test_case_loop import log_in
from tests.browser.test_portal import PNG, code_from_gateway

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


def test_staff_publish_the_committee_and_convention_and_a_resident_reads_them(
    live_server: Any,
    tree: Any,
    users: Any,
    home: Any,  # noqa: F811
    sms: Any,  # noqa: F811
    browser_page: Page,
    phone: Page,
) -> None:
    base = live_server.url
    # given his wife 李秀英 (84) receiving the age allowance, and 张建国's account
    grant_pension(home.li, "gaoling_80")
    bound_resident(home.zhang, community_id=tree.community_a.pk, phone=ZHANG_PHONE)

    # when the community staff add the secretary with a photo and publish the convention
    desk = browser_page
    log_in(desk, base, users.community_a)
    desk.goto(f"{base}/portal/staff/affairs/")
    desk.get_by_test_id("member-new").click()
    form = desk.get_by_test_id("member-form")
    form.locator("#body").select_option("party")
    form.locator("#role").select_option("secretary")
    form.locator("#name").fill("陈建华")
    form.locator("#duty_phone").fill("0571-87001234")
    form.locator("#term_start").fill("2021-05-01")
    photo: FilePayload = {"name": "chen.png", "mimeType": "image/png", "buffer": PNG}
    form.locator("#photo").set_input_files([photo])
    desk.get_by_test_id("member-save").click()
    expect(desk.get_by_test_id("staff-members")).to_contain_text("陈建华")
    desk.get_by_test_id("convention-new").click()
    convention = desk.get_by_test_id("convention-form")
    convention.locator("#title").fill("近江社区居民公约")
    convention.locator("#body").fill("一、垃圾分类,定时定点投放。")
    convention.locator("#effective_on").fill("2024-03-01")
    desk.get_by_test_id("convention-publish").click()
    expect(desk.get_by_test_id("convention-current")).to_contain_text("近江社区居民公约")

    # and the resident signs in on the phone with the code
    phone.goto(f"{base}/portal/login/")
    phone.locator("input[name=phone]").fill(ZHANG_PHONE)
    phone.locator("input[name=phone]").press("Enter")
    phone.locator("#code").fill(code_from_gateway(sms, ZHANG_PHONE))
    phone.get_by_test_id("submit-code").click()

    # then beside 三务公开 he finds the secretary, with the photo, and the convention
    phone.get_by_test_id("tab-notices").click()
    phone.get_by_test_id("affairs-link").click()
    member = phone.get_by_test_id("committee-member").first
    expect(member).to_contain_text("陈建华")
    expect(member).to_contain_text("0571-87001234")
    # the photo is served to residents of the community (it loads after the text: wait for it)
    phone.wait_for_function("img => img.complete && img.naturalWidth > 0",
                            arg=member.locator("img").element_handle())
    expect(phone.get_by_test_id("convention-title")).to_have_text("近江社区居民公约")

    # and on "my household" his wife's allowance (masked) with this year's certification due
    phone.get_by_test_id("tab-household").click()
    expect(phone.get_by_test_id("benefit")).to_contain_text("李**")
    expect(phone.get_by_test_id("certification-due")).to_be_visible()
    # when he asks for the home visit for her
    phone.get_by_test_id("certification-link").click()
    phone.get_by_test_id("visit-request").click()
    expect(phone.get_by_test_id("visit-pending")).to_be_visible()
    assert LivingCertification.objects.get().person_id == home.li.pk
