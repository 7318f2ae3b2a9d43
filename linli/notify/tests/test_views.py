"""The bell, the inbox, the templates page and the dead letters, through the web client."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from linli.accounts.models import User
from linli.notify import services
from linli.notify.choices import Channel, DeliveryState
from linli.notify.models import Delivery, Notification, NotificationTemplate

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _notify(user_ids: list[int], key: str = "case:1:dispatched") -> None:
    services.notification_enqueue(recipient_ids=user_ids, event_type="case.dispatched",
                                  variables={"number": "AJ-20261207-0001"}, dedup_key=key,
                                  object_type="cases.Case", object_id=1, link="/cases/1/")


def test_the_bell_shows_the_unread_count_on_staff_pages(users):
    _notify([users.street.pk])
    _notify([users.street.pk], key="case:2:dispatched")
    page = _client(users.street).get("/notifications/")
    assert page.status_code == 200
    assert 'data-testid="notify-unread">2<' in page.content.decode()
    other = _client(users.community_b).get("/notifications/").content.decode()
    assert 'data-testid="notify-unread"' not in other
    assert "AJ-20261207-0001" not in other  # another user's inbox shows nothing of it


def test_opening_a_notification_marks_it_read_and_goes_to_the_object(users):
    _notify([users.street.pk])
    n = Notification.objects.get()
    response = _client(users.street).post(f"/notifications/{n.pk}/read/", {"open": "1"})
    assert response.status_code == 302
    assert response["Location"] == "/cases/1/"
    n.refresh_from_db()
    assert n.read_at is not None


def test_another_users_notification_cannot_be_marked(users):
    _notify([users.street.pk])
    n = Notification.objects.get()
    _client(users.community_a).post(f"/notifications/{n.pk}/read/", {"open": "1"})
    n.refresh_from_db()
    assert n.read_at is None


def test_filters_and_mark_all_read(users):
    _notify([users.street.pk])
    services.notification_enqueue(recipient_ids=[users.street.pk], event_type="fusion.verification_assigned",
                                  variables={"count": 3, "source": "民政"}, dedup_key="f:1")
    client = _client(users.street)
    only_fusion = client.get("/notifications/?kind=fusion").content.decode()
    assert "民政" in only_fusion
    assert "AJ-20261207-0001" not in only_fusion
    client.post("/notifications/read-all/")
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    assert "民政" not in client.get("/notifications/?unread=1").content.decode()


def test_the_district_admin_edits_and_previews_a_template_and_a_bad_variable_is_refused(users):
    client = _client(users.district_admin)
    url = "/notifications/templates/?event=case.dispatched&language=zh-hans"
    assert client.get(url).status_code == 200
    preview = client.post(url, {"event_type": "case.dispatched", "language": "zh-hans", "title": "派遣",
                                "body": "事件{number}请处置", "action": "preview"}).content.decode()
    assert "事件‹number›请处置" in preview
    refused = client.post(url, {"event_type": "case.dispatched", "language": "zh-hans", "title": "派遣",
                                "body": "事件{number}请于{deadline}前处置", "action": "save"}).content.decode()
    assert 'data-testid="template-error"' in refused
    assert "deadline" in refused
    assert not NotificationTemplate.objects.exists()
    client.post(url, {"event_type": "case.dispatched", "language": "zh-hans", "title": "派遣",
                      "body": "事件{number}请处置", "action": "save"})
    assert NotificationTemplate.objects.get().body == "事件{number}请处置"


def test_only_the_district_admin_sees_the_templates_and_dead_letters(users):
    for user in (users.street, users.grid_worker_a1, users.auditor):
        assert _client(user).get("/notifications/templates/").status_code == 403
        assert _client(user).get("/notifications/outbox/").status_code in (403, 404)


def test_a_dead_letter_is_listed_and_resent(users):
    services.contact_address_set(user=users.street, channel=Channel.SMS, address="13800138000")
    _notify([users.street.pk])
    Delivery.objects.update(state=DeliveryState.DEAD, last_error="HTTP 400 isv.MOBILE_NUMBER_ILLEGAL")
    client = _client(users.district_admin)
    page = client.get("/notifications/outbox/").content.decode()
    assert "138****8000" in page
    assert "13800138000" not in page
    client.post(f"/notifications/outbox/{Delivery.objects.get().pk}/resend/", {"reason": "号码已更正"})
    assert Delivery.objects.get().state == DeliveryState.PENDING


def test_the_api_lists_the_callers_own_inbox_and_marks_read(users: Any) -> None:
    _notify([users.street.pk, users.community_a.pk])
    client = _client(users.street)
    body = client.get("/api/v1/notifications").json()
    assert (body["count"], body["unread"]) == (1, 1)
    assert body["items"][0]["link"] == "/cases/1/"
    mine = body["items"][0]["id"]
    theirs = Notification.objects.get(recipient=users.community_a).pk
    assert client.post(f"/api/v1/notifications/{theirs}/read").status_code == 404
    assert client.post(f"/api/v1/notifications/{mine}/read").json() == {"unread": 0}
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread": 0}


def test_preferences_page_from_the_inbox_saves_channels_and_quiet_hours(users):
    from datetime import UTC, datetime

    from linli.notify.models import Preference

    # given a grid worker reachable by SMS, on their inbox
    gw = users.grid_worker_a1
    services.contact_address_set(user=gw, channel=Channel.SMS, address="13800138000")
    client = _client(gw)
    assert "/notifications/preferences/" in client.get("/notifications/").content.decode()
    page = client.get("/notifications/preferences/").content.decode()
    assert 'data-testid="quiet-start"' in page
    # when they keep SMS on, switch the rest off and set quiet hours 22:00–07:00
    answer = client.post("/notifications/preferences/", {"channel": ["sms"], "quiet_start": "22:00",
                                                          "quiet_end": "07:00", "language": "zh-hans"})
    assert answer.status_code == 302
    pref = Preference.objects.get(user=gw)
    assert sorted(pref.disabled_channels) == ["email", "webpush", "wechat"]
    assert pref.quiet_start is not None
    assert pref.quiet_end is not None
    assert (pref.quiet_start.hour, pref.quiet_end.hour) == (22, 7)
    # then at 23:30 Shanghai an ordinary notification's SMS waits for the morning ...
    night = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)
    services.notification_enqueue(recipient_ids=[gw.pk], event_type="case.dispatched",
                                  variables={"number": "AJ-1"}, dedup_key="case:1:dispatched", now=night)
    normal = Delivery.objects.get(notification__dedup_key="case:1:dispatched")
    assert normal.next_attempt_at == datetime(2026, 12, 7, 23, 0, tzinfo=UTC)  # 07:00 Shanghai
    # ... and an emergency goes at once
    services.notification_enqueue(recipient_ids=[gw.pk], event_type="broadcast.emergency",
                                  variables={"area": "近江社区", "message": "燃气泄漏"}, dedup_key="broadcast:1",
                                  now=night)
    urgent = Delivery.objects.get(notification__dedup_key="broadcast:1")
    assert urgent.next_attempt_at == night
    # and the page shows what was saved
    again = client.get("/notifications/preferences/").content.decode()
    assert 'value="22:00"' in again
    assert 'value="sms" checked' in again
    assert 'value="wechat" checked' not in again


def test_preferences_page_refuses_half_quiet_hours_and_speaks_english(users):
    from linli.notify.models import Preference

    client = _client(users.street)
    refused = client.post("/notifications/preferences/", {"channel": ["sms"], "quiet_start": "22:00",
                                                           "quiet_end": "", "language": "zh-hans"})
    assert 'data-testid="preferences-error"' in refused.content.decode()
    assert not Preference.objects.exists()
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    text = client.get("/notifications/preferences/").content.decode()
    assert "Quiet hours" in text
    assert "免打扰时段" not in text
