"""``linli devices simulate`` publishes traffic the ingestor accepts, to a real Mosquitto."""

from __future__ import annotations

import pytest
from django.utils import timezone

from linli.devices.models import Alarm, DeadLetter
from linli.devices.services import Message, ingest_batch
from linli.devices.tests.broker import simulate_through_a_broker

pytestmark = pytest.mark.django_db


def test_simulated_traffic_is_accepted_and_the_smoke_option_raises_an_alarm(flat, settings):
    # when the simulator runs for a moment with a smoke test first
    sent, received = simulate_through_a_broker(settings, client_id="test-listener", wait_seconds=10)
    # then everything it published reaches the broker and the ingestion accepts all of it
    assert sent >= 10
    assert len(received) == sent
    report = ingest_batch([Message(m.topic, bytes(m.payload), timezone.now()) for m in received])
    assert report.dead_letters == 0, list(DeadLetter.objects.values_list("reason", "detail"))
    assert Alarm.objects.filter(kind="smoke", device=flat.smoke).exists()
