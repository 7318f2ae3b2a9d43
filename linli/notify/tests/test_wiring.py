"""Flows of lower layers reach the outbox: the lockout notice through accounts' listener hook."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from linli.accounts.choices import NoticeKind
from linli.accounts.services import security_notice_listeners, security_notice_send
from linli.notify import services
from linli.notify.choices import Channel, Level
from linli.notify.models import Delivery, Notification

pytestmark = pytest.mark.django_db


def test_notify_registers_its_listener_once():
    assert security_notice_listeners.count(services.security_notice_relay) == 1


def test_a_lockout_notice_reaches_the_user_by_inbox_and_sms(users):
    # given a grid worker with a mobile number
    services.contact_address_set(user=users.grid_worker_a1, channel=Channel.SMS, address="13800138000")
    until = timezone.now() + timedelta(minutes=5)
    # when their account is throttled
    with transaction.atomic():
        security_notice_send(recipients=[users.grid_worker_a1], kind=NoticeKind.YOUR_LOGIN_THROTTLED,
                             username="gw_a1", source="10.0.0.8", failures=5, until=until)
    # then the notification and its SMS are in the outbox, level 1 (quiet hours do not hold it)
    notice = Notification.objects.get(recipient=users.grid_worker_a1, event_type="accounts.lockout")
    assert notice.level == Level.LEVEL1
    assert "gw_a1" in notice.body
    assert Delivery.objects.filter(notification=notice, channel=Channel.SMS).count() == 1


def test_a_repeated_lockout_within_the_hour_is_one_notification(users):
    for _ in range(2):
        with transaction.atomic():
            security_notice_send(recipients=[users.district_admin], kind=NoticeKind.ACCOUNT_THROTTLED,
                                 username="gw_a1", source="10.0.0.8", failures=20, until=None)
    assert Notification.objects.filter(recipient=users.district_admin).count() == 1
