"""The set-based broadcast (SQL joins) against the rules applied one recipient at a time in
Python: the same inbox rows in the same languages, the same deliveries with the same keys,
addresses and due times, for every mix of preferences, quiet hours, channels and levels."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.core import pii
from linli.notify import services, workflow
from linli.notify.choices import OUTBOUND, Channel, DeliveryState, Language
from linli.notify.models import (
    PII_ADDRESS,
    ContactAddress,
    Delivery,
    Notification,
    Preference,
    PushSubscription,
)

pytestmark = pytest.mark.django_db
NIGHT = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
NOON = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")
WINDOWS = [None, (time(22), time(7)), (time(12), time(14)), (time(1), time(5))]


def _population(n: int, seed: int) -> list[int]:
    """``n`` staff users with random addresses, push subscriptions and preferences."""
    rng = random.Random(seed)
    ids = []
    for i in range(n):
        user = User.objects.create(username=f"fan-{seed}-{i}", role=Role.GRID_WORKER, password="!")
        ids.append(user.pk)
        if rng.random() < 0.8:
            services.contact_address_set(
                user=user, channel=Channel.SMS, address=f"139{seed:02d}{i:06d}"
            )
        if rng.random() < 0.4:
            services.contact_address_set(
                user=user, channel=Channel.WECHAT, address=f"o-open-{seed}-{i}"
            )
        if rng.random() < 0.3:
            services.contact_address_set(
                user=user, channel=Channel.EMAIL, address=f"u{i}@example.cn"
            )
        for k in range(rng.choice([0, 0, 1, 2])):
            services.push_subscription_save(
                user=user,
                endpoint=f"https://push.example.cn/{seed}/{i}/{k}",
                p256dh="BKey",
                auth="auth",
            )
        if rng.random() < 0.6:
            window = rng.choice(WINDOWS)
            services.preference_save(
                user=user,
                disabled_channels=rng.sample(OUTBOUND, rng.choice([0, 0, 1, 2])),
                quiet_start=window[0] if window else None,
                quiet_end=window[1] if window else None,
                language=rng.choice([Language.ZH_HANS, Language.EN]),
            )
    return ids


def _expected(
    ids: list[int],
    *,
    dedup_key: str,
    level: str,
    channels: tuple[str, ...],
    now: datetime,
    already: set[int],
) -> tuple[dict[int, str], set[tuple[object, ...]]]:
    """The rules applied to one recipient at a time, as the first version of the service did."""
    titles: dict[int, str] = {}
    deliveries: set[tuple[object, ...]] = set()
    wording = services.wording("case.dispatched")
    for user_id in ids:
        if user_id in already:
            continue
        pref = Preference.objects.filter(user_id=user_id).first()
        titles[user_id] = wording[pref.language if pref else Language.ZH_HANS][0].format(
            number="AJ-9"
        )
        due = now
        if pref is not None and not workflow.ignores_quiet_hours(level):
            due = (
                workflow.quiet_until(
                    local_now=now.astimezone(SHANGHAI), start=pref.quiet_start, end=pref.quiet_end
                )
                or now
            )
        for channel in channels:
            if pref is not None and channel in pref.disabled_channels:
                continue
            if channel == Channel.WEBPUSH:
                for sub in PushSubscription.objects.filter(user_id=user_id):
                    key = workflow.idempotency_key(
                        recipient_id=user_id,
                        dedup_key=dedup_key,
                        channel=channel,
                        address_tag=str(sub.pk),
                    )
                    deliveries.add((user_id, channel, key, sub.endpoint, due))
                continue
            contact = ContactAddress.objects.filter(user_id=user_id, channel=channel).first()
            if contact is not None:
                key = workflow.idempotency_key(
                    recipient_id=user_id, dedup_key=dedup_key, channel=channel
                )
                deliveries.add(
                    (
                        user_id,
                        channel,
                        key,
                        pii.decrypt(contact.address_enc, field=PII_ADDRESS),
                        due,
                    )
                )
    return titles, deliveries


def _written(dedup_key: str) -> tuple[dict[int, str], set[tuple[object, ...]]]:
    titles = dict(
        Notification.objects.filter(dedup_key=dedup_key).values_list("recipient_id", "title")
    )
    deliveries: set[tuple[object, ...]] = set()
    for d in Delivery.objects.filter(notification__dedup_key=dedup_key).select_related(
        "notification"
    ):
        assert d.state == DeliveryState.PENDING
        address = pii.decrypt(d.address_enc, field=PII_ADDRESS)
        if d.channel == Channel.WEBPUSH:
            address = json.loads(address)["endpoint"]
        deliveries.add(
            (d.notification.recipient_id, d.channel, d.idempotency_key, address, d.next_attempt_at)
        )
    return titles, deliveries


@pytest.mark.parametrize(
    ("seed", "level", "now", "channels"),
    [
        (1, "normal", NIGHT, OUTBOUND),
        (2, "normal", NOON, OUTBOUND),
        (3, "emergency", NIGHT, OUTBOUND),
        (4, "level1", NOON, OUTBOUND),
        (5, "normal", NIGHT, (Channel.SMS, Channel.WEBPUSH)),
    ],
)
def test_the_set_based_broadcast_writes_what_the_rules_say_one_recipient_at_a_time(
    seed, level, now, channels
):
    # given a population with every mix of addresses and preferences, some already notified
    ids = _population(40, seed)
    dedup_key = f"fanout:{seed}"
    already = set(ids[:5])
    services.notification_enqueue(
        recipient_ids=sorted(already),
        event_type="case.dispatched",
        variables={"number": "AJ-9"},
        dedup_key=dedup_key,
        level=level,
        now=now,
        channels=channels,
    )
    before = _written(dedup_key)
    expected_titles, expected_deliveries = _expected(
        ids, dedup_key=dedup_key, level=level, channels=channels, now=now, already=already
    )
    # when the whole population is notified in one broadcast
    new = services.notification_enqueue(
        recipient_ids=ids,
        event_type="case.dispatched",
        variables={"number": "AJ-9"},
        dedup_key=dedup_key,
        level=level,
        now=now,
        channels=channels,
    )
    # then it wrote exactly what the per-recipient rules say, and nothing more for those already notified
    titles, deliveries = _written(dedup_key)
    assert new == len(ids) - len(already)
    assert {u: t for u, t in titles.items() if u not in already} == expected_titles
    assert deliveries - before[1] == expected_deliveries
    assert expected_deliveries, "the population must reach someone"
    # the mix really was mixed: deferred and immediate, skipped channels, English
    if level == "normal" and now == NIGHT:
        assert {d[4] for d in expected_deliveries} == {
            now,
            datetime(2026, 12, 7, 23, 0, tzinfo=UTC),
        }
    assert set(expected_titles.values()) == {"事件派遣", "Case dispatched"}


def test_the_keys_hashed_in_sql_are_the_workflow_keys(users):
    # a dedup key with characters that need care in SQL and in UTF-8
    key = "case:7:派遣:'quoted' \\ 100%"
    services.contact_address_set(user=users.street, channel=Channel.SMS, address="13800138000")
    services.notification_enqueue(
        recipient_ids=[users.street.pk],
        event_type="case.dispatched",
        variables={"number": "AJ-7"},
        dedup_key=key,
    )
    delivery = Delivery.objects.get()
    assert delivery.idempotency_key == workflow.idempotency_key(
        recipient_id=users.street.pk, dedup_key=key, channel=Channel.SMS
    )
