"""End to end in real Chromium: Web Push on a staff browser and the field phone.

What can run offline is tested: the staff service worker registers at /notifications/ (and
leaves the field app's /field/ worker alone), a refused permission and a subscribe that
cannot reach the browser's push service (none offline) are said in words and save nothing,
and a push delivered to either worker through the DevTools protocol
(``ServiceWorker.deliverPushMessage``, what DevTools' "Push" button does) shows the
notification with the relay's title, body and link. A real subscription needs the browser
vendor's push service (FCM for Chromium) and is not reached here; the server's side of it
is covered by linli/notify/tests/test_push_views.py and the adapter's contract test."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Page, expect

from linli.notify.models import PushSubscription
from tests.browser.test_case_loop import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("screenshot"),
    pytest.mark.django_db(transaction=True),
]

SLOW = 30_000


@pytest.fixture
def vapid(settings: Any) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big")
    settings.LINLI_NOTIFY = {
        "LINLI_NOTIFY_WEBPUSH": "vapid", "LINLI_NOTIFY_VAPID_SUBJECT": "mailto:ops@example.cn",
        "LINLI_NOTIFY_VAPID_PRIVATE_KEY": base64.urlsafe_b64encode(key).decode().rstrip("="),
    }


def _registrations(page: Page) -> dict[str, str]:
    """Scope URL → DevTools registration id of the page's origin's service workers."""
    cdp = page.context.new_cdp_session(page)
    found: dict[str, str] = {}

    def seen(event: dict[str, Any]) -> None:
        for reg in event["registrations"]:
            if not reg.get("isDeleted"):
                found[reg["scopeURL"]] = reg["registrationId"]

    cdp.on("ServiceWorker.workerRegistrationUpdated", seen)
    cdp.send("ServiceWorker.enable")
    page.wait_for_timeout(300)
    cdp.detach()
    return found


def _push(page: Page, origin: str, registration_id: str, payload: dict[str, str]) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("ServiceWorker.enable")
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": origin, "registrationId": registration_id,
                                                  "data": json.dumps(payload, ensure_ascii=False)})
    cdp.detach()


def _shown(page: Page, scope: str) -> list[dict[str, Any]]:
    page.wait_for_function(
        "s => navigator.serviceWorker.getRegistration(s).then(r => r.getNotifications()).then(n => n.length > 0)",
        arg=scope, timeout=SLOW)
    return page.evaluate("""s => navigator.serviceWorker.getRegistration(s).then(r => r.getNotifications())
        .then(list => list.map(n => ({title: n.title, body: n.body, url: n.data && n.data.url})))""", scope)


def test_the_staff_worker_registers_at_notifications_and_shows_a_push(
        live_server: Any, users: Any, browser_page: Page, vapid: None) -> None:
    page, base = browser_page, live_server.url
    page.context.grant_permissions(["notifications"], origin=base)
    # given a street staff member on the notification preferences page
    log_in(page, base, users.street)
    page.goto(f"{base}/notifications/preferences/")
    # then the staff worker is registered for /notifications/ only, and the page says "not on"
    expect(page.get_by_test_id("push-status")).to_have_attribute("data-state", "idle", timeout=SLOW)
    scopes = page.evaluate("navigator.serviceWorker.getRegistrations().then(rs => rs.map(r => r.scope))")
    assert scopes == [f"{base}/notifications/"]
    # when a push arrives in the relay's format
    registration = _registrations(page)[f"{base}/notifications/"]
    _push(page, base, registration, {"title": "事件派遣", "body": "AJ-20261207-0001 已派遣给你", "url": "/cases/7/"})
    # then it is shown with the title, body and link
    assert _shown(page, "/notifications/") == [
        {"title": "事件派遣", "body": "AJ-20261207-0001 已派遣给你", "url": "/cases/7/"}]


def test_subscribing_offline_fails_in_words_and_saves_nothing(
        live_server: Any, users: Any, browser_page: Page, vapid: None) -> None:
    page, base = browser_page, live_server.url
    page.context.grant_permissions(["notifications"], origin=base)
    log_in(page, base, users.street)
    page.goto(f"{base}/notifications/preferences/")
    expect(page.get_by_test_id("push-status")).to_have_attribute("data-state", "idle", timeout=SLOW)
    # when they switch this browser on, with no push service reachable
    page.get_by_test_id("push-on").click()
    # then the page says the browser cannot reach its push service, and nothing is saved
    status = page.get_by_test_id("push-status")
    expect(status).to_have_attribute("data-state", "failed", timeout=SLOW)
    expect(status).to_contain_text("推送服务")
    expect(page.get_by_test_id("push-on")).to_be_visible()
    expect(page.get_by_test_id("push-off")).to_be_hidden()
    assert not PushSubscription.objects.exists()


def test_a_refused_permission_is_said_and_saves_nothing(
        live_server: Any, users: Any, browser_page: Page, vapid: None) -> None:
    page, base = browser_page, live_server.url
    log_in(page, base, users.street)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Browser.setPermission", {"permission": {"name": "notifications"}, "setting": "denied", "origin": base})
    page.goto(f"{base}/notifications/preferences/")
    expect(page.get_by_test_id("push-status")).to_have_attribute("data-state", "idle", timeout=SLOW)
    page.get_by_test_id("push-on").click()
    status = page.get_by_test_id("push-status")
    expect(status).to_have_attribute("data-state", "denied")
    expect(status).to_contain_text("网站设置")
    assert not PushSubscription.objects.exists()


def test_without_web_push_the_button_says_it_is_not_enabled(
        live_server: Any, users: Any, browser_page: Page, settings: Any) -> None:
    settings.LINLI_NOTIFY = {"LINLI_NOTIFY_WEBPUSH": "off"}
    page, base = browser_page, live_server.url
    page.context.grant_permissions(["notifications"], origin=base)
    log_in(page, base, users.street)
    page.goto(f"{base}/notifications/preferences/")
    expect(page.get_by_test_id("push-status")).to_have_attribute("data-state", "idle", timeout=SLOW)
    page.get_by_test_id("push-on").click()
    expect(page.get_by_test_id("push-status")).to_have_attribute("data-state", "unconfigured")
    expect(page.get_by_test_id("push-status")).to_contain_text("LINLI_NOTIFY_WEBPUSH")


def test_the_field_worker_shows_a_push_too(live_server: Any, users: Any, browser_page: Page) -> None:
    page, base = browser_page, live_server.url
    page.context.grant_permissions(["notifications"], origin=base)
    # given a grid worker on the field app, its own worker in control of /field/
    log_in(page, base, users.grid_worker_a1)
    page.goto(f"{base}/field/")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=SLOW)
    registration = _registrations(page)[f"{base}/field/"]
    # when a push arrives, then it is shown with its link
    _push(page, base, registration, {"title": "事件退回", "body": "AJ-20261207-0002", "url": "/field/"})
    assert _shown(page, "/field/") == [{"title": "事件退回", "body": "AJ-20261207-0002", "url": "/field/"}]


def test_the_field_app_offers_this_phone_with_its_own_worker(
        live_server: Any, users: Any, browser_page: Page, vapid: None) -> None:
    page, base = browser_page, live_server.url
    page.context.grant_permissions(["notifications"], origin=base)
    log_in(page, base, users.grid_worker_a1)
    # the lock-screen page of the field app has the same switch, bound to the /field/ worker
    page.goto(f"{base}/field/pin/")
    box = page.get_by_test_id("push-box")
    expect(box).to_have_attribute("data-scope", "/field/")
    expect(page.get_by_test_id("push-status")).to_have_attribute("data-state", "idle", timeout=SLOW)
    scopes = page.evaluate("navigator.serviceWorker.getRegistrations().then(rs => rs.map(r => r.scope))")
    assert scopes == [f"{base}/field/"]
    page.get_by_test_id("push-on").click()
    expect(page.get_by_test_id("push-status")).to_have_attribute("data-state", "failed", timeout=SLOW)
    assert not PushSubscription.objects.exists()
