"""End to end in real Chromium on a phone viewport: the grid worker's app works offline.

The worker installs the app (manifest, service worker), goes offline, files two reports
with photos and a visit, accepts two cases; meanwhile one case is reassigned. Back online,
the phone sends its queue: the server has each write exactly once, a second sync sends
nothing, and the reassigned case's refusal is shown in words.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, Response, expect

from linli.care.choices import ItemStatus, VisitReason
from linli.care.models import DueVisit, Visit
from linli.cases.models import Case, CasePhoto
from linli.cases.services import case_transition
from linli.cases.tests.conftest import cats, open_case
from linli.field.models import Submission
from linli.field.tests.conftest import elder_at_home
from linli.registry.models import Person
from tests.browser.test_case_loop import log_in, photo

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("screenshot"),
    pytest.mark.django_db(transaction=True),
]
__all__ = ["cats", "open_case"]
SLOW = 45_000  # a loaded two-core machine: wait for conditions, generously


def _person(tree: Any) -> Person:
    _building, _room, person = elder_at_home(tree)
    DueVisit.objects.create(
        person=person,
        grid=tree.grid_a1,
        reason_kind=VisitReason.PLAN,
        reason="每月走访",
        due_on=timezone.localdate(),
        status=ItemStatus.OPEN,
    )
    return person


def _report(page: Page, text: str) -> None:
    page.get_by_test_id("tab-report").click()
    expect(page.get_by_test_id("report-form")).to_be_visible()
    page.get_by_test_id("category-search").fill("垃圾")
    page.locator("#category-list label:visible input").first.check()
    page.get_by_test_id("report-description").fill(text)
    page.get_by_test_id("report-photos").set_input_files([photo("a.png"), photo("b.png")])
    page.get_by_test_id("locate").click()
    expect(page.locator("input[name=lon]")).not_to_have_value("", timeout=SLOW)
    before = int(page.evaluate("document.body.getAttribute('data-queued') || '0'"))
    page.get_by_test_id("report-submit").click()
    expect(page.locator("body")).to_have_attribute("data-queued", str(before + 1), timeout=SLOW)


def test_offline_writes_are_sent_once_and_a_conflict_is_told(
    live_server: Any, tree: Any, users: Any, cats: Any, open_case: Any, browser_page: Page
) -> None:
    # given a person due for a visit and two cases dispatched to the a1 worker
    person = _person(tree)
    first, second = open_case(description="楼道吵架一"), open_case(description="楼道吵架二")
    assert first.assignee_id == second.assignee_id == users.grid_worker_a1.pk
    page = browser_page
    context = page.context
    page.set_viewport_size({"width": 390, "height": 844})
    context.grant_permissions(["geolocation"])
    context.set_geolocation({"latitude": 30.2051, "longitude": 120.2051})
    sent: list[str] = []

    def count(response: Response) -> None:
        # Answered requests only: while offline the phone tries and fails, which is fine.
        if response.url.endswith("/field/sync/"):
            sent.append(response.url)

    context.on("response", count)

    # when the worker opens the app online: installable, the service worker controls it, today's pages kept
    log_in(page, live_server.url, users.grid_worker_a1)
    page.goto(f"{live_server.url}/field/")
    expect(page.get_by_test_id("today-item")).to_have_count(3)
    manifest = page.evaluate(
        """() => fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())"""
    )
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/field/"
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=SLOW)
    page.reload()
    expect(page.locator("body")).to_have_attribute(
        "data-precached", "9", timeout=SLOW
    )  # 3 items, 1 person, 5 shell pages

    # and goes offline: two reports with photos, a visit, two status changes
    context.set_offline(True)
    _report(page, "路边有暴露垃圾一")
    _report(page, "路边有暴露垃圾二")
    page.goto(f"{live_server.url}/field/persons/{person.pk}/visit/")
    page.get_by_test_id("visit-notes").fill("老人独自在家，提到近来腿疼")
    page.get_by_test_id("visit-photos").set_input_files([photo("v.png")])
    page.get_by_test_id("visit-submit").click()
    expect(page).to_have_url(f"{live_server.url}/field/", timeout=SLOW)
    for case in (first, second):
        page.goto(f"{live_server.url}/field/cases/{case.pk}/")
        page.get_by_test_id("case-accept").click()
        expect(page.get_by_test_id("field-flash")).to_be_visible()
    page.get_by_test_id("tab-queue").click()
    expect(page.get_by_test_id("queued-write")).to_have_count(5)
    expect(page.get_by_test_id("outbox-count")).to_contain_text("5")

    # and meanwhile the community reassigns the second case to a department
    case_transition(
        case=second,
        action="reassign",
        actor=users.community_a,
        data={"department": "huanwei"},
        note="转环卫",
    )
    assert sent == []
    assert not Submission.objects.exists()

    # when the network returns
    context.set_offline(False)
    page.evaluate("() => { window.linliField.syncAll(); }")

    # then the queue empties, the conflict is told in words, the server has each write once
    expect(page.locator("body")).to_have_attribute("data-waiting", "0", timeout=SLOW)
    expect(page.get_by_test_id("conflict-message").first).to_be_visible(timeout=SLOW)
    messages = page.get_by_test_id("conflict-message").all_inner_texts()
    assert len(messages) == 1, messages
    expect(page.get_by_test_id("conflict-message")).to_contain_text(second.number)
    expect(page.get_by_test_id("conflict-message")).to_contain_text("改派或办结")
    reports = Case.objects.filter(source="patrol", reporter=users.grid_worker_a1)
    assert sorted(reports.values_list("description", flat=True)) == [
        "路边有暴露垃圾一",
        "路边有暴露垃圾二",
    ]
    for report in reports:
        assert CasePhoto.objects.filter(case=report).count() == 2
        assert report.address == "近江路5幢"  # filled at sync from the nearest building
    assert Visit.objects.filter(person=person).count() == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "accepted"
    assert second.status == "dispatched"
    assert second.assignee_id is None
    assert Submission.objects.count() == 5
    assert len(sent) == 5

    # and a second sync sends nothing
    page.evaluate("() => window.linliField.syncAll()")
    page.reload()
    expect(page.get_by_test_id("conflict-message")).to_have_count(1)
    page.evaluate("() => window.linliField.syncAll()")
    assert len(sent) == 5
    assert Submission.objects.count() == 5

    # and logging out clears what the phone kept
    page.get_by_test_id("conflict-message").get_by_role("button").click()
    expect(page.get_by_test_id("conflict-message")).to_have_count(0)
    page.goto(f"{live_server.url}/field/logout/")
    page.wait_for_url(f"{live_server.url}/login/**", timeout=SLOW)
    # (the app's static shell may be fetched again into its cache: no personal data there)
    kept = page.evaluate("() => caches.keys()")
    assert [name for name in kept if not name.startswith("field-shell-")] == []
    databases = page.evaluate("() => indexedDB.databases().then(list => list.map(d => d.name))")
    assert "linli-field" not in databases
