"""End to end in real Chromium: a clerk files an application for a resident at the window,
pre-reviews and forwards it, and the department approves it."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conftest import make_user
from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.services import department_named
from linli.catalogue.services import item_create, item_publish_version
from linli.catalogue.tests.conftest import FORM, MATERIALS, SEED, make_id
from linli.registry.services import person_create

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("screenshot"),
]

PASSWORD = "Linli-test-2026"  # the root conftest's make_user default
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def log_in(page: Page, base_url: str, *, username: str) -> None:
    page.goto(f"{base_url}/login/")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_contain_text(username)


def log_out(page: Page) -> None:
    page.get_by_test_id("logout").click()


def test_clerk_files_at_the_window_and_the_department_approves(
    transactional_db: None, live_server: Any, tree: Any, users: Any, settings: Any, tmp_path: Path,
    browser_page: Page,
) -> None:
    # given a promised street item of 民政, a resident of community A and a 民政 officer
    settings.DATA_DIR = tmp_path
    civil_affairs = department_named(actor=SEED, text="民政")
    item = item_create(actor=SEED, code="MZ-GLJT", name="高龄津贴", department=civil_affairs, level="street",
                       kind="promised", search_keywords="高龄 老人 津贴 补贴")
    item_publish_version(actor=SEED, item=item, time_limit_days=10, materials=MATERIALS,
                         steps=["申请", "审核", "办结"], form=FORM)
    person = person_create(actor=SEED, name="欧阳秀英", id_number=make_id(date(1940, 3, 1), "321"),
                           phone="13812345678", hukou="local", grid=tree.grid_a1)
    officer = make_user("mz_officer", Role.DEPARTMENT_STAFF, (tree.district, AssignmentKind.MEMBER),
                        department=civil_affairs)
    upload = tmp_path / "idcard.png"
    upload.write_bytes(PNG)
    page = browser_page
    base = live_server.url

    # when the clerk finds the resident and the item by one sentence
    log_in(page, base, username=users.community_a.username)
    page.goto(f"{base}/services/window/")
    page.get_by_test_id("window-person-input").fill("欧阳秀英")
    page.get_by_test_id("window-person-submit").click()
    page.get_by_test_id("window-person-result").filter(has_text="欧阳秀英").get_by_test_id(
        "window-person-choose").click()
    expect(page.get_by_test_id("window-person-name")).to_have_text("欧阳秀英")
    page.get_by_test_id("window-item-input").fill("老人想申请高龄津贴")
    page.get_by_test_id("window-item-submit").click()
    card = page.get_by_test_id("item-card").filter(has_text="高龄津贴").first
    expect(card).to_contain_text("居民身份证")
    card.get_by_test_id("item-start").click()

    # and fills the guided form: step 1 prefilled (ID masked), step 2 with an upload
    expect(page.get_by_test_id("guided-step-title")).to_have_text("申请人信息")
    expect(page.locator("#f-name")).to_have_value("欧阳秀英")
    expect(page.locator("#f-id_number")).to_have_value(person.id_number_masked)
    page.get_by_test_id("guided-next").click()
    expect(page.get_by_test_id("guided-step-title")).to_have_text("申请内容")
    page.locator("#f-reason").fill("年满八十周岁,申请高龄津贴")
    page.locator("#f-photo").set_input_files(str(upload))
    page.get_by_test_id("guided-submit").click()

    # then the application is submitted with its file, and the clerk pre-reviews and forwards it
    status = page.get_by_test_id("application-status")
    expect(status).to_have_attribute("data-status", "submitted")
    expect(page.get_by_test_id("application-file")).to_have_count(1)
    application_url = page.url
    assert re.search(r"/services/applications/\d+/$", application_url)
    page.get_by_test_id("action-start-pre-review").click()
    expect(status).to_have_attribute("data-status", "pre_review")
    page.locator("#forward-note").fill("材料齐全")
    page.get_by_test_id("action-forward").click()
    expect(status).to_have_attribute("data-status", "forwarded")
    log_out(page)

    # when the 民政 officer opens the department inbox and approves
    log_in(page, base, username=officer.username)
    page.goto(f"{base}/services/applications/")
    page.get_by_test_id("inbox-row").filter(has_text="欧阳秀英").get_by_test_id("inbox-link").click()
    page.get_by_test_id("decision-note").fill("符合条件,准予发放")
    page.get_by_test_id("action-approve").click()

    # then the application shows 已办结 / approved with the whole timeline
    expect(page.get_by_test_id("application-status")).to_have_attribute("data-status", "approved")
    expect(page.get_by_test_id("application-status")).to_contain_text("已办结")
    expect(page.get_by_test_id("application-decision")).to_have_attribute("data-decision", "approved")
    expect(page.get_by_test_id("timeline-event")).to_have_count(4)
