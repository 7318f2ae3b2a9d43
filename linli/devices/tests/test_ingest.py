"""Ingestion without a broker: messages → state, inbox dedup, dead letters, alarms, cases."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from linli.cases.choices import CaseSource, CaseStatus
from linli.cases.models import Case
from linli.core.errors import NotFound, ValidationFailed
from linli.devices.choices import AlarmKind, AlarmStatus, DeviceStatus
from linli.devices.models import Alarm, DeadLetter, Device, Reading
from linli.devices.services import Message, alarm_transition, device_sweep, ingest_batch

pytestmark = pytest.mark.django_db


def msg(topic: str, body: object, *, at=None) -> Message:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Message(topic=topic, payload=raw, received_at=at or timezone.now())


def smoke(device: Device, msg_id: str) -> Message:
    return msg(f"linli/devices/{device.external_id}/events", {"msg_id": msg_id, "smoke": True, "battery": 90})


def test_smoke_opens_a_level_one_case_at_the_room(flat, tree):
    # when the kitchen smoke detector reports smoke
    report = ingest_batch([smoke(flat.smoke, "m-1")])
    # then one alarm and one level-1 IoT case of 火灾 at the flat's address in grid a1
    alarm = Alarm.objects.get()
    assert report.alarms_raised == 1
    assert (alarm.kind, alarm.level, alarm.status) == (AlarmKind.SMOKE, 1, AlarmStatus.RAISED)
    case = alarm.case
    assert case is not None
    assert (case.source, case.level, case.category.code) == (CaseSource.IOT, 1, "0506")
    assert case.grid_id == tree.grid_a1.pk
    assert "望江路" in case.address
    assert "2单元501室" in case.address
    assert "厨房" in case.description
    assert case.status == CaseStatus.DISPATCHED  # trusted channel: registered and dispatched by rule


@pytest.mark.parametrize(("kind", "value", "category"), [("gas", "gas", "1203"), ("sos", "sos", "1701")])
def test_gas_and_sos_open_level_one_cases(flat, kind, value, category):
    device = flat.gas if kind == "gas" else flat.sos
    ingest_batch([msg(f"linli/devices/{device.external_id}/events", {"msg_id": "x", value: True})])
    alarm = Alarm.objects.get()
    assert alarm.case is not None
    assert (alarm.level, alarm.case.category.code) == (1, category)


def test_a_redelivered_message_changes_nothing(flat):
    ingest_batch([smoke(flat.smoke, "m-1")])
    # when the broker delivers the same message again (QoS 1 after a crash)
    report = ingest_batch([smoke(flat.smoke, "m-1")])
    # then it is recognised and nothing is counted twice
    assert (report.accepted, report.duplicates, report.alarms_folded) == (0, 1, 0)
    assert Reading.objects.count() == 1
    assert Alarm.objects.get().repeats == 0
    assert Case.objects.count() == 1


def test_repeats_fold_into_the_open_alarm_and_open_no_second_case(flat):
    ingest_batch([smoke(flat.smoke, "m-1"), smoke(flat.smoke, "m-2")])
    ingest_batch([smoke(flat.smoke, "m-3")])
    alarm = Alarm.objects.get()
    assert alarm.repeats == 2
    assert Case.objects.count() == 1


def test_a_new_alarm_after_the_last_was_handled(flat, users):
    ingest_batch([smoke(flat.smoke, "m-1")])
    alarm_transition(alarm=Alarm.objects.get(), action="handle", actor=users.community_a, note="烧水误触")
    ingest_batch([smoke(flat.smoke, "m-2")])
    assert Alarm.objects.count() == 2
    assert Case.objects.count() == 2


def test_bad_messages_become_dead_letters_and_lose_nothing_else(flat):
    # given a batch with an unknown device, a malformed and an oversized payload among good ones
    batch = [
        msg("zigbee2mqtt/a1-door_contact", {"contact": False, "battery": 15}),
        msg("zigbee2mqtt/nobody", {"contact": True}),
        msg("zigbee2mqtt/a1-smoke", b"{oops"),
        msg("zigbee2mqtt/a1-smoke", b"{" + b" " * 70_000 + b"}"),
        msg("weather/hangzhou", {"t": 3}),
        smoke(flat.smoke, "m-1"),
    ]
    report = ingest_batch(batch)
    # then the good ones are applied and each bad one is kept with its reason
    assert (report.accepted, report.dead_letters, report.alarms_raised) == (2, 4, 1)
    reasons = sorted(DeadLetter.objects.values_list("reason", flat=True))
    assert reasons == ["malformed", "oversized", "unknown_device", "unknown_topic"]
    assert DeadLetter.objects.get(reason="unknown_device").payload == '{"contact": true}'
    # and a redelivery of the same bad message is kept once
    ingest_batch(batch[1:2])
    assert DeadLetter.objects.count() == 4


def test_state_online_battery_and_door(flat):
    ingest_batch([msg("zigbee2mqtt/a1-door_contact", {"contact": False, "battery": 15})])
    door = Device.objects.get(pk=flat.door.pk)
    assert door.status == DeviceStatus.ONLINE
    assert (door.battery, door.battery_low) == (15, True)
    assert door.last_opened_at is not None
    assert door.absence_due_at == door.last_opened_at + timedelta(hours=24)
    assert door.last_values["door_open"] is True


def test_door_contact_of_an_elder_living_alone_gets_the_absence_rule(flat):
    assert flat.door.absence_hours == 24
    assert flat.smoke.absence_hours is None


def test_absence_sweep_opens_a_welfare_check_once_and_the_door_clears_it(flat):
    # given the door last opened 25 hours ago
    opened = timezone.now() - timedelta(hours=25)
    ingest_batch([msg("zigbee2mqtt/a1-door_contact", {"contact": False}, at=opened)])
    # when the sweep runs twice
    first = device_sweep()
    second = device_sweep()
    # then one absence alarm and one case for the grid worker (独居老人异常)
    assert (first.absences, second.absences) == (1, 0)
    alarm = Alarm.objects.get(kind=AlarmKind.ABSENCE)
    assert alarm.case is not None
    assert alarm.case.category.code == "1701"
    assert alarm.case.assignee is not None or alarm.case.status == CaseStatus.DISPATCHED
    # when the door opens again the alarm is cleared and the timer restarts
    ingest_batch([msg("zigbee2mqtt/a1-door_contact", {"contact": False, "battery": 80})])
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.CLEARED
    assert Device.objects.get(pk=flat.door.pk).absence_due_at is not None


def test_a_silent_device_goes_offline_as_maintenance_without_a_case(flat):
    ingest_batch([msg("zigbee2mqtt/a1-smoke", {"smoke": False}, at=timezone.now() - timedelta(hours=26))])
    report = device_sweep()
    assert report.offline >= 1
    assert Device.objects.get(pk=flat.smoke.pk).status == DeviceStatus.OFFLINE
    silent = Alarm.objects.get(device=flat.smoke, kind=AlarmKind.SILENT)
    assert silent.case is None
    # a message brings it back and clears the maintenance alarm
    ingest_batch([msg("zigbee2mqtt/a1-smoke", {"smoke": False, "battery": 70})])
    silent.refresh_from_db()
    assert silent.status == AlarmStatus.CLEARED
    assert Device.objects.get(pk=flat.smoke.pk).status == DeviceStatus.ONLINE


def test_camera_events_fold_per_camera_zone_and_label_and_close_on_timeout(flat, users, tree):
    from linli.devices.services import device_register

    camera = device_register(actor=users.community_a, kind="camera", external_id="cam-01", grid=tree.grid_a1,
                             lon=120.205, lat=30.205, spot="望江路口")
    def event(event_id: str, label: str = "car", phase: str = "new") -> Message:
        return msg("frigate/events", {"type": phase, "after": {
            "id": event_id, "camera": "cam-01", "label": label, "current_zones": ["no_parking"], "has_snapshot": True}})
    ingest_batch([event("e1"), event("e1", phase="update"), event("e2")])
    ingest_batch([event("e3", label="street_vendor")])
    alarms = Alarm.objects.filter(device=camera).order_by("pk")
    assert [(a.fold_key, a.repeats) for a in alarms] == [("car@no_parking", 2), ("street_vendor@no_parking", 0)]
    cases = [a.case for a in alarms if a.case is not None]
    assert [c.category.code for c in cases] == ["0405", "0401"]
    assert cases[0].source == CaseSource.CAMERA
    assert alarms[0].snapshot_url.endswith("snapshot.jpg")
    report = device_sweep(now=timezone.now() + timedelta(minutes=11))
    assert report.cameras_closed == 2


def test_a_new_alarm_tells_the_grid_workers_once_through_the_outbox(flat, users):
    from linli.notify.choices import Level
    from linli.notify.models import Notification

    # two smoke messages: one alarm (the second folds into it), one level-1 notification each
    ingest_batch([smoke(flat.smoke, "m-1"), smoke(flat.smoke, "m-2")])
    told = Notification.objects.filter(event_type="devices.alarm")
    assert told.filter(recipient=users.grid_worker_a1).count() == 1
    assert {n.level for n in told} == {Level.LEVEL1}
    assert "烟" in told.get(recipient=users.grid_worker_a1).body
    # nobody of another grid hears of it
    assert not told.filter(recipient=users.grid_worker_b1).exists()


def test_acknowledge_then_handle_and_another_area_cannot(flat, users):
    ingest_batch([smoke(flat.smoke, "m-1")])
    alarm = Alarm.objects.get()
    # another community's staff gets "does not exist"
    with pytest.raises(NotFound):
        alarm_transition(alarm=alarm, action="acknowledge", actor=users.community_b)
    acked = alarm_transition(alarm=alarm, action="acknowledge", actor=users.grid_worker_a1)
    assert acked.status == AlarmStatus.ACKNOWLEDGED
    assert acked.acknowledged_by == users.grid_worker_a1
    done = alarm_transition(alarm=alarm, action="false_alarm", actor=users.community_a, note="做饭油烟")
    assert (done.status, done.note) == (AlarmStatus.FALSE_ALARM, "做饭油烟")
    with pytest.raises(ValidationFailed):
        alarm_transition(alarm=alarm, action="handle", actor=users.community_a)


def test_one_batch_raises_each_detectors_alarm_once_with_its_own_case(flat, tree, users):
    # given three more flats with their detectors
    from linli.devices.tests.conftest import make_flat

    others = [make_flat(tree, users, prefix=p) for p in ("b1", "b22", "b333")]
    # when one batch carries a smoke report from each, one of them twice, and a redelivery
    batch = [smoke(f.smoke, "m-1") for f in others] + [smoke(others[0].smoke, "m-2"), smoke(others[1].smoke, "m-1")]
    report = ingest_batch(batch)
    # then three alarms (the second report folds, the redelivery is a duplicate), each with its own case
    assert (report.accepted, report.duplicates, report.alarms_raised, report.alarms_folded) == (4, 1, 3, 1)
    alarms = {a.device_id: a for a in Alarm.objects.all()}
    assert set(alarms) == {f.smoke.pk for f in others}
    assert alarms[others[0].smoke.pk].repeats == 1
    cases = Case.objects.filter(source=CaseSource.IOT)
    assert cases.count() == 3
    assert {a.case_id for a in alarms.values()} == set(cases.values_list("pk", flat=True))
    assert {c.source_key for c in cases} == {f"devices.alarm:{a.pk}" for a in alarms.values()}
    # and the same batch delivered again changes nothing
    again = ingest_batch(batch)
    assert (again.accepted, again.alarms_raised) == (0, 0)
    assert (Alarm.objects.count(), Case.objects.count(), Reading.objects.count()) == (3, 3, 4)


def test_state_folds_a_batch_in_arrival_order(flat):
    at = timezone.now()
    ingest_batch([
        msg("zigbee2mqtt/a1-door_contact", {"contact": False, "battery": 90, "linkquality": 10}, at=at),
        msg("zigbee2mqtt/a1-door_contact", {"contact": True, "battery": 12}, at=at + timedelta(seconds=1)),
    ])
    door = Device.objects.get(pk=flat.door.pk)
    # then the last report's battery, every value merged, the opening of the first report
    assert (door.battery, door.battery_low) == (12, True)
    assert door.last_values == {"door_open": False, "battery": 12, "linkquality": 10}
    assert door.last_opened_at == at
    assert door.last_seen_at == at + timedelta(seconds=1)
    # when an older opening arrives late it does not move the opening back
    ingest_batch([msg("zigbee2mqtt/a1-door_contact", {"contact": False, "last_seen": "x"},
                      at=at - timedelta(hours=1))])
    door.refresh_from_db()
    assert door.last_opened_at == at
    assert door.last_seen_at == at + timedelta(seconds=1)



def test_an_older_change_committed_later_fills_in_but_never_moves_the_state_back(flat):
    # An alarm is committed ahead of the telemetry queued before it (the ingestor's urgent
    # lane): the older telemetry, committed after, must not undo what the alarm reported.
    at = timezone.now()
    ingest_batch([msg(f"linli/devices/{flat.smoke.external_id}/events",
                      {"msg_id": "alarm", "smoke": True, "battery": 80}, at=at)])
    ingest_batch([msg(f"linli/devices/{flat.smoke.external_id}/events",
                      {"msg_id": "older", "smoke": False, "battery": 95, "temperature": 21},
                      at=at - timedelta(seconds=2))])
    device = Device.objects.get(pk=flat.smoke.pk)
    assert Reading.objects.filter(device=device).count() == 2  # both kept
    assert device.last_values["smoke"] is True  # the newer value stays
    assert device.last_values["temperature"] == 21  # what the newer one did not say is filled in
    assert device.battery == 80
    assert device.last_seen_at == at
    assert device.offline_due_at == at + timedelta(seconds=device.heartbeat_seconds)
    # and an availability "offline" older than the last message does not take the device offline
    ingest_batch([msg(f"zigbee2mqtt/{flat.smoke.external_id}/availability", b"offline",
                      at=at - timedelta(seconds=1))])
    device.refresh_from_db()
    assert device.status == DeviceStatus.ONLINE
    # while a newer change wins as before
    ingest_batch([msg(f"linli/devices/{flat.smoke.external_id}/events",
                      {"msg_id": "newer", "smoke": False, "battery": 70}, at=at + timedelta(seconds=1))])
    device.refresh_from_db()
    assert (device.last_values["smoke"], device.battery) == (False, 70)


def test_the_sweep_claims_due_contacts_in_chunks_and_raises_each_once(flat, tree, users):
    from linli.devices.tests.conftest import make_flat

    flats = [flat] + [make_flat(tree, users, prefix=p) for p in ("c1", "c22", "c333", "c4444")]
    now = timezone.now()
    Device.objects.filter(pk__in=[f.door.pk for f in flats]).update(absence_due_at=now - timedelta(minutes=1))
    # when the sweep runs in chunks of two, then again
    first = device_sweep(now=now, batch_size=2)
    second = device_sweep(now=now, batch_size=2)
    # then each door has one welfare-check alarm with its case, and the second sweep adds nothing
    assert (first.absences, second.absences) == (5, 0)
    alarms = Alarm.objects.filter(kind=AlarmKind.ABSENCE)
    assert sorted(a.device_id for a in alarms) == sorted(f.door.pk for f in flats)
    assert all(a.case is not None and a.case.category.code == "1701" for a in alarms)
    assert Device.objects.filter(absence_due_at__isnull=False, pk__in=[f.door.pk for f in flats]).count() == 0


def test_readings_older_than_the_retention_are_purged_by_the_sweep(flat, settings):
    settings.LINLI_DEVICE_READINGS_DAYS = 30
    now = timezone.now()
    door = "zigbee2mqtt/a1-door_contact"
    ingest_batch([msg(door, {"contact": True, "last_seen": f"old-{n}"}, at=now - timedelta(days=40 - n))
                  for n in range(5)])  # 40…36 days ago
    ingest_batch([msg(door, {"contact": True, "last_seen": "fresh"}, at=now - timedelta(days=1))])
    ingest_batch([smoke(flat.smoke, "alarm")])
    # when the sweep runs (readings walked by chunks from the oldest)
    from linli.devices.services import readings_purge

    assert readings_purge(now=now, days=0) == 0  # 0 keeps everything
    report = device_sweep(now=now)
    # then the old readings are gone, the young ones and the alarm with its case stay
    assert report.readings_purged == 5
    assert sorted(Reading.objects.values_list("message_key", flat=True)) == sorted(
        [Reading.objects.get(device=flat.smoke).message_key,
         Reading.objects.get(device=flat.door).message_key])
    assert Alarm.objects.get().case is not None
    assert device_sweep(now=now).readings_purged == 0


def test_an_absence_alarm_makes_a_must_visit_for_the_elder_once(flat, users):
    from linli.care.choices import CareEventKind, ItemStatus, VisitReason
    from linli.care.models import CareEvent, DueVisit
    from linli.notify.models import Notification

    # given the elder's door last opened 25 hours ago
    ingest_batch([msg("zigbee2mqtt/a1-door_contact", {"contact": False}, at=timezone.now() - timedelta(hours=25))])
    # when the sweep runs twice
    device_sweep()
    device_sweep()
    # then care has one door-silence event from the alarm and one must-visit due by tomorrow
    alarm = Alarm.objects.get(kind=AlarmKind.ABSENCE)
    event = CareEvent.objects.get(person=flat.door.person)
    assert (event.kind, event.source) == (CareEventKind.DOOR_SILENCE, f"devices.alarm:{alarm.pk}")
    due = DueVisit.objects.get(person=flat.door.person, reason_kind=VisitReason.TRIGGER)
    assert due.status == ItemStatus.OPEN
    assert due.due_on == timezone.localdate() + timedelta(days=1)
    assert "门磁" in due.reason
    # and the grid's worker was told of the must-visit, once
    assert Notification.objects.filter(recipient=users.grid_worker_a1, event_type="care.must_visit").count() == 1


def test_a_smoke_alarm_is_no_care_event(flat):
    from linli.care.models import CareEvent

    ingest_batch([smoke(flat.smoke, "m-9")])
    assert Alarm.objects.filter(kind=AlarmKind.SMOKE).exists()
    assert not CareEvent.objects.exists()
