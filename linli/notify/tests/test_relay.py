"""The relay against the fake gateway: claims, outcomes, retries, leases, dead letters."""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from linli.accounts.models import User
from linli.notify import services
from linli.notify.channels.registry import channel_setups
from linli.notify.choices import Channel, DeliveryState
from linli.notify.fake_gateway import FakeGateway
from linli.notify.models import Delivery, PushSubscription
from linli.notify.relay import (
    UNKNOWN_AFTER_CRASH,
    Relay,
    TokenBucket,
    deliveries_claim,
    webpush_gone,
)
from linli.notify.tests.conftest import gateway_settings
from linli.notify.tests.test_channels import _subscription, _vapid_key

pytestmark = pytest.mark.django_db


def _people(users: Any, n: int = 3) -> list[User]:
    people = [users.grid_worker_a1, users.community_a, users.street][:n]
    for i, user in enumerate(people):
        services.contact_address_set(user=user, channel=Channel.SMS, address=f"1380013800{i}")
    return people


def _enqueue(people: list[User], key: str = "case:1:dispatched") -> None:
    services.notification_enqueue(recipient_ids=[p.pk for p in people], event_type="case.dispatched",
                                  variables={"number": "AJ-1"}, dedup_key=key)


def _relay(fake: FakeGateway, **extra: str) -> Relay:
    return Relay(channel_setups(gateway_settings(fake, **extra)), threads=4, chunk=2)


def test_the_relay_sends_each_delivery_once_and_records_it(users, fake):
    people = _people(users)
    _enqueue(people)
    relay = _relay(fake)
    report = relay.run_once()
    assert (report.claimed, report.sent) == (3, 3)
    assert sorted(fake.recorder.delivered_keys()) == sorted(Delivery.objects.values_list("idempotency_key", flat=True))
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}
    assert all(d.provider_id.startswith("biz-") and d.sent_at for d in Delivery.objects.all())
    # a second round finds nothing to do
    assert relay.run_once().claimed == 0
    assert len(fake.recorder.entries) == 3


def test_a_500_is_retried_after_the_backoff_and_then_sent(users, fake):
    _enqueue(_people(users, 1))
    fake.recorder.faults.fail_every = 1
    relay = _relay(fake)
    assert relay.run_once().retried == 1
    d = Delivery.objects.get()
    assert (d.state, d.attempts) == (DeliveryState.FAILED, 1)
    assert d.next_attempt_at > timezone.now() + timedelta(seconds=20)
    assert relay.run_once().claimed == 0  # not due yet
    fake.recorder.faults.fail_every = 0
    relay.run_once(now=d.next_attempt_at + timedelta(seconds=1))
    d.refresh_from_db()
    assert (d.state, d.attempts) == (DeliveryState.SENT, 2)
    assert fake.recorder.delivered_keys() == [d.idempotency_key]


def test_after_the_last_attempt_a_delivery_is_dead_and_visible(users, fake):
    _enqueue(_people(users, 1))
    fake.recorder.faults.fail_every = 1
    relay = _relay(fake)
    Delivery.objects.update(attempts=5)
    relay.run_once()
    d = Delivery.objects.get()
    assert d.state == DeliveryState.DEAD
    assert "500" in d.last_error


def test_a_timeout_is_not_resent_to_a_gateway_that_does_not_deduplicate(users, fake):
    _enqueue(_people(users, 1))
    fake.recorder.faults.slow_every, fake.recorder.faults.slow_seconds = 1, 2.0
    _relay(fake).run_once()
    d = Delivery.objects.get()
    assert d.state == DeliveryState.DEAD
    assert "outcome unknown" in d.last_error
    assert len(fake.recorder.delivered_keys()) == 1


def test_a_timeout_is_retried_with_the_same_key_where_the_gateway_deduplicates(users, fake):
    _enqueue(_people(users, 1))
    fake.recorder.faults.slow_every, fake.recorder.faults.slow_seconds, fake.recorder.faults.dedup = 1, 2.0, True
    relay = _relay(fake, LINLI_NOTIFY_IDEMPOTENT_GATEWAYS="sms")
    relay.run_once()
    d = Delivery.objects.get()
    assert d.state == DeliveryState.FAILED
    fake.recorder.faults.slow_every = 0
    relay.run_once(now=d.next_attempt_at + timedelta(seconds=1))
    d.refresh_from_db()
    assert d.state == DeliveryState.SENT
    keys = [e["key"] for e in fake.recorder.entries]
    assert keys == [d.idempotency_key, d.idempotency_key]
    assert fake.recorder.delivered_keys() == [d.idempotency_key]  # once


def test_a_dead_relays_unstarted_claims_are_taken_again_and_started_ones_are_not_doubled(users, fake):
    _enqueue(_people(users, 3))
    now = timezone.now()
    # a relay claimed all three, started one, then died (kill -9)
    token, ids = deliveries_claim(channel="sms", limit=10, lease=timedelta(seconds=30), now=now)
    assert len(ids) == 3
    Delivery.objects.filter(pk=ids[0]).update(started_at=now)
    relay = _relay(fake)
    assert relay.run_once().claimed == 0  # leases still held
    report = relay.run_once(now=now + timedelta(seconds=31))
    assert report.sent == 2
    started = Delivery.objects.get(pk=ids[0])
    assert (started.state, started.last_error) == (DeliveryState.DEAD, UNKNOWN_AFTER_CRASH)
    assert {d.attempts for d in Delivery.objects.filter(pk__in=ids[1:])} == {1}
    assert token not in set(Delivery.objects.values_list("lease_token", flat=True))


def test_a_body_over_the_channels_limit_is_dead_and_the_others_still_go(users, fake):
    people = _people(users, 2)
    _enqueue(people)
    services.notification_enqueue(recipient_ids=[people[0].pk], event_type="broadcast.emergency",
                                  variables={"area": "近江", "message": "长" * 400}, dedup_key="b:1")
    report = _relay(fake).run_once()
    assert (report.sent, report.dead) == (2, 1)
    dead = Delivery.objects.get(state=DeliveryState.DEAD)
    assert "> 300" in dead.last_error


def test_the_rate_limit_bounds_a_round():
    bucket = TokenBucket(rate=5, tokens=5)
    assert bucket.take(100) == 5
    assert bucket.take(100) == 0


def test_a_rate_limited_channel_sends_no_more_than_its_rate(users, fake):
    _enqueue(_people(users, 3))
    started = time.monotonic()  # before the relay: its buckets start filling when it is built
    relay = _relay(fake, LINLI_NOTIFY_SMS_RATE="2")
    sent = relay.run_once().sent
    # a burst of one second's worth, then 2 a second: a slow run (a loaded machine) earns more
    assert 2 <= sent <= 2 + math.ceil((time.monotonic() - started) * 2)


def test_web_push_410_removes_the_subscription(users, fake):
    user = users.street
    sub = PushSubscription.objects.create(user=user, endpoint=f"{fake.url}/push/old", p256dh="x", auth="y")
    import json

    payload = json.loads(_subscription(fake, "/push/old"))
    PushSubscription.objects.filter(pk=sub.pk).update(p256dh=payload["keys"]["p256dh"], auth=payload["keys"]["auth"])
    services.notification_enqueue(recipient_ids=[user.pk], event_type="case.dispatched",
                                  variables={"number": "AJ-1"}, dedup_key="c:1")
    fake.recorder.gone.add("/push/old")
    relay = Relay(channel_setups(gateway_settings(
        fake, LINLI_NOTIFY_WEBPUSH="vapid", LINLI_NOTIFY_VAPID_PRIVATE_KEY=_vapid_key(),
        LINLI_NOTIFY_VAPID_SUBJECT="mailto:ops@example.org")), gone=webpush_gone)
    assert relay.run_once().dead == 1
    assert not PushSubscription.objects.exists()
