"""End to end in real Chromium on a phone-sized page: a resident signs in with a code, applies
with a photo, answers the clerk's correction request from the phone (a new photo, a rewritten
reason), books a seat at the community's window and cancels it, and opens the report form
on the base map of their community, placed on their own building.

The clerk's side goes through the catalogue's services (its pages have their own browser
test, tests/browser/test_window_application.py). Waits are on conditions only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from linli.accounts.models import Department
from linli.cases.models import Category, DispatchRule
from linli.cases.taxonomy import taxonomy_load
from linli.catalogue.choices import ApplicationAction, ApplicationStatus, AppointmentStatus
from linli.catalogue.models import Application, Appointment
from linli.catalogue.services import application_transition, window_create
from linli.notify.fake_gateway import FakeGateway
from linli.portal.tests.conftest import SEED, WANG_PHONE, home, sms  # noqa: F401 -- fixtures
from linli.portal.tests.helpers import bound_resident
from linli.portal.tests.test_hall import HOURS, promised_item
from tests.browser.test_portal import PNG, code_from_gateway

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _taxonomy(request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("db")
    if not Category.objects.exists():
        taxonomy_load(Department, Category, DispatchRule)


@pytest.fixture
def phone(chromium: Browser) -> Iterator[Page]:
    """A phone: small viewport, touch, Chinese locale."""
    context = chromium.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


def test_resident_answers_a_correction_and_books_the_window(
    live_server: Any,
    tree: Any,
    users: Any,
    home: Any,  # noqa: F811 -- the fixture
    sms: FakeGateway,  # noqa: F811 -- the fixture
    phone: Page,
) -> None:
    # given 王芳, registered and bound, an item with a photo to upload and the community's window
    bound_resident(home.wang, community_id=tree.community_a.pk, phone=WANG_PHONE)
    version = promised_item()
    window_create(
        actor=SEED,
        code="W-A",
        name="近江社区综合窗口",
        community=tree.community_a,
        opening_hours=HOURS,
        slot_minutes=60,
        capacity_per_slot=2,
    )
    page, base = phone, live_server.url

    # when she signs in with a code and applies with a photo
    page.goto(f"{base}/portal/login/")
    page.locator("#phone").fill(WANG_PHONE)
    page.get_by_role("button", name="获取验证码").click()
    page.locator("#code").fill(code_from_gateway(sms, WANG_PHONE))
    page.get_by_test_id("submit-code").click()
    page.goto(f"{base}/portal/services/{version.item_id}/apply/")
    apply_form = page.get_by_test_id("apply-form")
    apply_form.locator("#f-reason").fill("生病")
    first: FilePayload = {"name": "page1.png", "mimeType": "image/png", "buffer": PNG}
    apply_form.locator("#f-hukou_pages").set_input_files([first])
    page.get_by_test_id("apply-submit").click()
    expect(page.get_by_test_id("application-status")).to_contain_text("已提交")
    app = Application.objects.get()

    # and the clerk asks for the missing page and a clearer reason
    app = application_transition(
        application=app, action=ApplicationAction.START_PRE_REVIEW, actor=users.community_a
    )
    application_transition(
        application=app,
        action=ApplicationAction.RETURN_FOR_CORRECTION,
        actor=users.community_a,
        missing=["户口簿"],
        note="缺户主页",
    )
    page.reload()
    # then her phone shows what was asked
    expect(page.get_by_test_id("correction-missing")).to_contain_text("户口簿")

    # when she answers it: keeps the first photo, adds the page, rewrites the reason
    page.get_by_test_id("correction-answer").click()
    form = page.get_by_test_id("correct-form")
    expect(form.get_by_test_id("kept-file")).to_contain_text("page1.png")
    form.locator("#f-reason").fill("因病住院,收入减少")
    second: FilePayload = {"name": "page2.png", "mimeType": "image/png", "buffer": PNG}
    form.get_by_test_id("upload-hukou_pages").set_input_files([second])
    page.get_by_test_id("correct-submit").click()
    # then it is back with the clerk, with both photos
    expect(page.get_by_test_id("application-status")).to_contain_text("已补正")
    app.refresh_from_db()
    assert app.status == ApplicationStatus.RESUBMITTED
    assert sorted(app.files.values_list("original_name", flat=True)) == ["page1.png", "page2.png"]

    # when she books a seat at the window for this item
    page.goto(f"{base}/portal/services/{version.item_id}/apply/")
    page.get_by_test_id("appointment-link").click()
    booking_form = page.get_by_test_id("appointment-form")
    booking_form.locator("input[name=slot]:not([disabled])").first.check()
    page.get_by_test_id("appointment-submit").click()
    # then it is in her appointments
    expect(page.get_by_test_id("appointment-booked")).to_be_visible()
    booking = Appointment.objects.get()
    assert (booking.person_id, booking.status) == (home.wang.pk, AppointmentStatus.BOOKED)
    row = page.locator(f'[data-testid="appointment"][data-id="{booking.pk}"]')
    expect(row).to_have_attribute("data-status", "booked")
    # and she cancels it
    row.get_by_test_id("appointment-cancel").click()
    expect(page.locator(f'[data-testid="appointment"][data-id="{booking.pk}"]')).to_have_attribute(
        "data-status", "cancelled"
    )

    # when she opens the report form, then the map of her community is placed on her building
    page.goto(f"{base}/portal/reports/new/")
    expect(page.get_by_test_id("picker-map")).to_have_attribute("data-basemap", "ready")
    expect(page.get_by_test_id("gps-status")).to_contain_text("望江小区1幢")
    expect(page.get_by_test_id("report-address")).to_have_value("望江路1号1幢")
