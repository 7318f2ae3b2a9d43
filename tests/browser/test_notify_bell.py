"""End to end in real Chromium: the bell. A grid worker gets two notifications, the bell
shows 2; opening the inbox and marking one read makes it 1; marking all read clears it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from linli.notify.services import notification_enqueue
from tests.browser.test_case_loop import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("screenshot"),
    pytest.mark.django_db(transaction=True),
]


def _notify(user_id: int, number: str) -> None:
    with transaction.atomic():
        notification_enqueue(recipient_ids=[user_id], event_type="case.dispatched", variables={"number": number},
                             dedup_key=f"case:{number}:dispatched", object_type="cases.Case", object_id=1,
                             link="/cases/")


def test_the_bell_counts_and_the_inbox_clears_it(live_server: Any, users: Any, browser_page: Page) -> None:
    page = browser_page
    worker = users.grid_worker_a1
    # given a grid worker signed in with nothing unread
    log_in(page, live_server.url, worker)
    expect(page.get_by_test_id("notify-bell")).to_be_visible()
    expect(page.get_by_test_id("notify-unread")).to_have_count(0)
    # when two cases are dispatched to them
    _notify(worker.pk, "AJ-20261207-0001")
    _notify(worker.pk, "AJ-20261207-0002")
    page.reload()
    # then the bell shows 2 on any staff page
    expect(page.get_by_test_id("notify-unread")).to_have_text("2")
    # when they open the inbox and mark one read
    page.get_by_test_id("notify-bell").click()
    expect(page).to_have_url(re.compile(r"/notifications/$"))
    expect(page.get_by_test_id("notify-item")).to_have_count(2)
    page.get_by_test_id("notify-mark-read").first.click()
    expect(page.get_by_test_id("notify-unread")).to_have_text("1")
    expect(page.get_by_test_id("notify-mark-read")).to_have_count(1)
    # and then all read
    page.get_by_test_id("notify-read-all").click()
    expect(page.get_by_test_id("notify-unread")).to_have_count(0)
    expect(page.get_by_test_id("notify-mark-read")).to_have_count(0)
    # the preferences page is one click away
    page.get_by_test_id("notify-preferences-link").click()
    expect(page.get_by_test_id("notify-preferences")).to_be_visible()
