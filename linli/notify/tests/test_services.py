"""Enqueueing in the business transaction, preferences, templates, the inbox, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest
from django.db import transaction

from linli.core.errors import ApplicationError, ValidationFailed
from linli.notify import selectors, services
from linli.notify.choices import Channel, DeliveryState, Language
from linli.notify.models import Delivery, Notification

pytestmark = pytest.mark.django_db
NIGHT = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai


def _enqueue(user_ids: list[int], *, key: str = "case:1:dispatched", event: str = "case.dispatched",
             now: datetime | None = None, **kw: Any) -> int:
    return services.notification_enqueue(recipient_ids=user_ids, event_type=event, variables={"number": "AJ-1"},
                                         dedup_key=key, object_type="cases.Case", object_id=1,
                                         link="/cases/1/", now=now, **kw)


def test_a_notification_and_its_deliveries_roll_back_with_the_business_change(users):
    # given a grid worker reachable by SMS
    services.contact_address_set(user=users.grid_worker_a1, channel=Channel.SMS, address="13800138000")
    # when the business transaction that enqueued fails
    def change_that_fails() -> None:
        with transaction.atomic():
            _enqueue([users.grid_worker_a1.pk])
            raise RuntimeError("the case change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    # then nothing was left behind
    assert not Notification.objects.exists()
    assert not Delivery.objects.exists()


def test_enqueue_writes_the_inbox_row_and_one_delivery_per_reachable_channel(users):
    gw = users.grid_worker_a1
    services.contact_address_set(user=gw, channel=Channel.SMS, address="13800138000")
    services.contact_address_set(user=gw, channel=Channel.WECHAT, address="o-openid-1")
    assert _enqueue([gw.pk, users.community_a.pk]) == 2
    n = Notification.objects.get(recipient=gw)
    assert n.body == "事件AJ-1已派遣给您,请及时处置"
    deliveries = {d.channel: d for d in Delivery.objects.filter(notification=n)}
    assert set(deliveries) == {Channel.SMS, Channel.WECHAT}
    assert deliveries[Channel.SMS].address_masked == "138****8000"
    assert "13800138000" not in deliveries[Channel.SMS].address_enc
    # the community worker has no address: the inbox only
    assert not Delivery.objects.filter(notification__recipient=users.community_a).exists()


def test_the_same_event_enqueued_twice_notifies_once(users):
    assert _enqueue([users.street.pk]) == 1
    assert _enqueue([users.street.pk]) == 0
    assert Notification.objects.filter(recipient=users.street).count() == 1


def test_english_users_get_english_wording(users):
    services.preference_save(user=users.street, disabled_channels=[], quiet_start=None, quiet_end=None,
                             language=Language.EN)
    _enqueue([users.street.pk])
    assert Notification.objects.get(recipient=users.street).title == "Case dispatched"


def test_a_disabled_channel_gets_no_delivery(users):
    gw = users.grid_worker_a1
    services.contact_address_set(user=gw, channel=Channel.SMS, address="13800138000")
    services.contact_address_set(user=gw, channel=Channel.WECHAT, address="o-openid-1")
    services.preference_save(user=gw, disabled_channels=[Channel.SMS], quiet_start=None, quiet_end=None)
    _enqueue([gw.pk])
    assert list(Delivery.objects.values_list("channel", flat=True)) == [Channel.WECHAT]


def test_quiet_hours_delay_normal_notifications_but_not_emergencies(users):
    gw = users.grid_worker_a1
    services.contact_address_set(user=gw, channel=Channel.SMS, address="13800138000")
    services.preference_save(user=gw, disabled_channels=[], quiet_start=time(22), quiet_end=time(7))
    _enqueue([gw.pk], now=NIGHT)
    services.notification_enqueue(recipient_ids=[gw.pk], event_type="broadcast.emergency",
                                  variables={"area": "近江社区", "message": "燃气泄漏,请立即撤离"},
                                  dedup_key="broadcast:1", now=NIGHT)
    normal = Delivery.objects.get(notification__event_type="case.dispatched")
    urgent = Delivery.objects.get(notification__event_type="broadcast.emergency")
    assert normal.next_attempt_at == datetime(2026, 12, 7, 23, 0, tzinfo=UTC)  # 07:00 Shanghai
    assert urgent.next_attempt_at == NIGHT


def test_an_unknown_event_or_variable_is_refused_naming_it(users):
    with pytest.raises(ValidationFailed) as err:
        services.notification_enqueue(recipient_ids=[users.street.pk], event_type="case.nope", variables={},
                                      dedup_key="x")
    assert err.value.field == "event_type"
    with pytest.raises(ValidationFailed) as err:
        services.notification_enqueue(recipient_ids=[users.street.pk], event_type="case.dispatched",
                                      variables={"number": "1", "phone": "138"}, dedup_key="x")
    assert "phone" in err.value.message
    with pytest.raises(ValidationFailed) as err:
        services.notification_enqueue(recipient_ids=[users.street.pk], event_type="case.dispatched",
                                      variables={}, dedup_key="x")
    assert "number" in err.value.message


def test_a_template_with_an_unknown_variable_is_an_error_at_save(users):
    with pytest.raises(ValidationFailed) as err:
        services.template_save(actor=users.district_admin, event_type="case.dispatched", language="zh-hans",
                               title="派遣", body="事件{number}请于{deadline}前处置")
    assert err.value.field == "body"
    assert "deadline" in err.value.message


def test_a_saved_template_is_used_and_previewed(users):
    services.template_save(actor=users.district_admin, event_type="case.dispatched", language="zh-hans",
                           title="新派遣", body="【网格】事件{number}派给您了", sms_template_code="SMS_1001")
    assert services.template_preview(event_type="case.dispatched", title="新派遣",
                                     body="事件{number}") == ("新派遣", "事件‹number›")
    _enqueue([users.street.pk])
    assert Notification.objects.get(recipient=users.street).body == "【网格】事件AJ-1派给您了"


def test_the_inbox_is_the_users_own_and_mark_read_counts_down(users):
    _enqueue([users.street.pk, users.community_a.pk])
    _enqueue([users.street.pk], key="case:2:returned", event="case.returned")
    assert selectors.unread_count(user_id=users.street.pk) == 2
    other = Notification.objects.get(recipient=users.community_a)
    # another user's notification is not found
    assert services.notification_read(user=users.street, notification_id=other.pk) is False
    assert selectors.inbox_for_user(user=users.grid_worker_b1).count() == 0
    mine = selectors.inbox_for_user(user=users.street)[0]
    assert services.notification_read(user=users.street, notification_id=mine.pk) is True
    assert selectors.unread_count(user_id=users.street.pk) == 1
    assert services.notification_read_all(user=users.street) == 1
    assert selectors.unread_count(user_id=users.street.pk) == 0
    assert selectors.unread_count(user_id=users.community_a.pk) == 1


def test_dead_letters_are_for_the_district_admin_who_can_resend(users):
    services.contact_address_set(user=users.street, channel=Channel.SMS, address="13800138000")
    _enqueue([users.street.pk])
    Delivery.objects.update(state=DeliveryState.DEAD, last_error="HTTP 400")
    assert selectors.deliveries_for_operator(user=users.street).count() == 0
    dead = selectors.deliveries_for_operator(user=users.district_admin).get()
    again = services.delivery_resend(actor=users.district_admin, delivery_id=dead.pk, reason="号码已核实")
    assert again.state == DeliveryState.PENDING
    assert again.idempotency_key == dead.idempotency_key
    with pytest.raises(ApplicationError):
        services.delivery_resend(actor=users.district_admin, delivery_id=dead.pk)


def test_a_bad_address_is_refused_naming_the_field(users):
    with pytest.raises(ValidationFailed) as err:
        services.contact_address_set(user=users.street, channel=Channel.SMS, address="12345")
    assert err.value.field == "address"


def _true_unread(user_id: int) -> int:
    return Notification.objects.filter(recipient_id=user_id, read_at__isnull=True).count()


def test_the_unread_counter_never_drifts_from_the_rows(users):
    gw, community = users.grid_worker_a1, users.community_a
    everyone = [gw.pk, community.pk]

    def agrees() -> None:
        for pk in everyone:
            assert selectors.unread_count(user_id=pk) == _true_unread(pk)

    # given a broadcast, one enqueued twice (deduplicated) and a personal one
    assert services.notification_enqueue(recipient_ids=everyone, event_type="broadcast.emergency",
                                         variables={"area": "近江社区", "message": "燃气泄漏"},
                                         dedup_key="broadcast:1") == 2
    _enqueue(everyone, key="case:1:dispatched")
    _enqueue(everyone, key="case:1:dispatched")
    _enqueue([gw.pk], key="case:2:dispatched")
    agrees()
    assert selectors.unread_count(user_id=gw.pk) >= 2
    # when one is read (twice: the second changes nothing) and another user's id is tried
    first = Notification.objects.filter(recipient=gw).first()
    assert first is not None
    assert services.notification_read(user=gw, notification_id=first.pk)
    assert not services.notification_read(user=gw, notification_id=first.pk)
    other = Notification.objects.filter(recipient=community).first()
    assert other is not None
    assert not services.notification_read(user=gw, notification_id=other.pk)
    agrees()
    # when a rolled-back business change had enqueued one
    def change_that_fails() -> None:
        with transaction.atomic():
            _enqueue(everyone, key="case:3:dispatched")
            raise RuntimeError("the case change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    agrees()
    # when all are read, then another broadcast arrives
    services.notification_read_all(user=gw)
    assert selectors.unread_count(user_id=gw.pk) == 0
    _enqueue(everyone, key="case:4:dispatched")
    agrees()
    assert selectors.unread_count(user_id=gw.pk) == 1
    # then a recount from the rows finds nothing to correct
    before = {pk: selectors.unread_count(user_id=pk) for pk in everyone}
    services.unread_counters_rebuild()
    assert {pk: selectors.unread_count(user_id=pk) for pk in everyone} == before
