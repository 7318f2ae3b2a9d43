"""Writes of the devices app: registration, ingestion, alarms, the sweep.

Every public function owns its transaction and names its actor. The ingestor calls
:func:`ingest_batch` with what it received and acknowledges to the broker only after the
call returned (the commit); a redelivered message finds its inbox row (``Reading`` or
``DeadLetter``) and changes nothing. An alarm that needs hands opens a case through
:func:`linli.cases.services.case_open` (source ``iot`` / ``camera``, idempotent by the
alarm's id), whose dispatch rules and notifications take it from there.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Role
from linli.accounts.models import AreaAssignment, User
from linli.accounts.selectors import scope_for
from linli.cases.choices import CaseSource
from linli.cases.services import case_open
from linli.core.actors import SystemActor
from linli.core.bulk import bulk_insert_objects, bulk_update
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.services import audit_record
from linli.devices import workflow
from linli.devices.adapters import PayloadRefusedError, Signal, message_digest, parse_message
from linli.devices.choices import (
    OPEN_ALARM_STATUSES,
    AlarmAction,
    AlarmKind,
    AlarmStatus,
    DeadLetterReason,
    DeviceKind,
    DeviceStatus,
)
from linli.devices.models import Alarm, DeadLetter, Device, Reading
from linli.geo.models import Area
from linli.notify.choices import Level as NotifyLevel
from linli.notify.services import notification_enqueue
from linli.registry.choices import TagKind
from linli.registry.models import Person, Room

logger = logging.getLogger(__name__)

INGESTOR = SystemActor("mqtt:devices")
SWEEPER = SystemActor("job:devices-sweep")
_DEAD_LETTER_KEEP_CHARS = 64 * 1024


# --- Registration -----------------------------------------------------------------------


def _lives_alone(person: Person, on: date) -> bool:
    return person.tags.filter(kind=TagKind.LIVING_ALONE_ELDER, valid_from__lte=on).exclude(
        valid_to__lt=on).exists()


def device_register(
    *, actor: User, kind: str, external_id: str, room: Room | None = None, person: Person | None = None,
    grid: Area | None = None, name: str = "", vendor: str = "", model: str = "", spot: str = "",
    absence_hours: int | None = None, lon: float | None = None, lat: float | None = None, request_id: str = "",
) -> Device:
    """Register a device and bind it to what it protects.

    The grid comes from the room's building, else the person's grid, else ``grid``; it must
    be in the actor's scope. A door contact bound to an elder living alone gets the
    absence rule (:data:`workflow.DEFAULT_ABSENCE_HOURS`) unless ``absence_hours`` says
    otherwise (0 switches it off).
    """
    if kind not in DeviceKind.values:
        raise ValidationFailed("kind", _("未知的设备类型"))
    external_id = external_id.strip()
    if not external_id or len(external_id) > 100:
        raise ValidationFailed("external_id", _("请填写设备标识(不超过100个字符)"))
    building = room.building if room is not None else (person.building if person is not None else None)
    grid_id = (building.grid_id if building is not None
               else person.grid_id if person is not None and person.grid_id else grid.pk if grid else None)
    if grid_id is None:
        raise ValidationFailed("room", _("请选择安装的房屋、关爱对象或网格"))
    if grid_id not in scope_for(actor).grid_ids:
        raise PermissionDenied(_("该位置不在您的管辖范围内"))
    now = timezone.now()
    if absence_hours is None and kind == DeviceKind.DOOR_CONTACT and person is not None \
            and _lives_alone(person, timezone.localdate(now)):
        absence_hours = workflow.DEFAULT_ABSENCE_HOURS
    if absence_hours is not None and not 0 <= absence_hours <= 24 * 14:
        raise ValidationFailed("absence_hours", _("未开门报警须在0到336小时之间"))
    with transaction.atomic():
        if Device.objects.filter(external_id=external_id).exists():
            raise ValidationFailed("external_id", _("该设备标识已登记"))
        device = Device.objects.create(
            kind=kind, external_id=external_id, name=name, vendor=vendor, model=model, spot=spot,
            grid_id=grid_id, building=building, room=room, person=person, lon=lon, lat=lat,
            heartbeat_seconds=workflow.heartbeat_for(kind), absence_hours=absence_hours or None,
            offline_due_at=now + timedelta(seconds=workflow.heartbeat_for(kind)),
            absence_due_at=workflow.absence_due(last_opened_at=None, since=now, hours=absence_hours),
        )
        audit_record(actor=actor, action="devices.device_register", target_type="devices.device",
                     target_id=device.pk, fields=["kind", "external_id", "room", "person"], request_id=request_id)
    return device


# --- Notification hook ------------------------------------------------------------------


def alarm_notify_responsible(*, alarm_id: int) -> int:
    """Tell the grid's workers (A and B 角) about a new alarm through the outbox, in the
    alarm's transaction; level-1 alarms ignore quiet hours. The message names the kind and
    the grid, never the person (SMS and push leave the intranet). The case an alarm opens is
    announced to its dispatch target by the cases app. Families have no contact record in
    the registry yet, so they are not told. Returns how many notifications are new."""
    alarm = Alarm.objects.select_related("grid").get(pk=alarm_id)
    workers = list(AreaAssignment.objects.filter(
        area_id=alarm.grid_id, user__role=Role.GRID_WORKER, user__is_active=True,
    ).values_list("user_id", flat=True).distinct())
    if not workers:
        return 0
    return notification_enqueue(
        recipient_ids=workers, event_type="devices.alarm",
        variables={"kind": str(AlarmKind(alarm.kind).label), "grid": alarm.grid.name},
        dedup_key=f"devices.alarm:{alarm.pk}", object_type="devices.Alarm", object_id=alarm.pk,
        link=reverse("devices:alarm", args=[alarm.pk]),
        level=NotifyLevel.LEVEL1 if alarm.level == 1 else NotifyLevel.NORMAL,
    )


# --- Alarms -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmInput:
    """One alarm to raise (or fold into the open alarm of the same key)."""

    device: Device
    kind: str
    at: datetime
    fold_key: str = ""
    summary: str = ""
    snapshot_url: str = ""
    category: str | None = None


def _place(device: Device) -> tuple[float | None, float | None, str]:
    """Position and address of a device for its case: the room's address when known."""
    building = device.building
    lon, lat = device.lon, device.lat
    address = ""
    if building is not None:
        address = building.address
        if device.room is not None:
            address += f"{device.room.unit.number}单元{device.room.number}室"
        if lon is None:
            lon, lat = building.lon, building.lat
    if lon is None and device.grid.centroid_lon is not None:
        lon, lat = device.grid.centroid_lon, device.grid.centroid_lat
    if not address:
        address = device.grid.name
    return lon, lat, address[:200]


def _summary(item: AlarmInput) -> str:
    if item.summary:
        return item.summary[:200]
    device = item.device
    what = AlarmKind(item.kind).label
    _lon, _lat, address = _place(device)
    spot = f"({device.spot})" if device.spot else ""
    return f"{what}:{address}{spot},设备{device.external_id}"[:200]


def _alarm_raise(item: AlarmInput) -> tuple[Alarm, bool]:
    """Inside the caller's transaction: fold into the open alarm of the key, or raise a new
    one and open its case. ``(alarm, created)``."""
    device = item.device
    open_alarm = Alarm.objects.filter(device=device, kind=item.kind, fold_key=item.fold_key,
                                      status__in=OPEN_ALARM_STATUSES).first()
    if open_alarm is not None:
        Alarm.objects.filter(pk=open_alarm.pk).update(repeats=F("repeats") + 1, last_at=item.at)
        return open_alarm, False
    rule = workflow.ALARM_RULES[item.kind]
    summary = _summary(item)
    try:
        with transaction.atomic():
            alarm = Alarm.objects.create(
                device=device, grid_id=device.grid_id, kind=item.kind, fold_key=item.fold_key, level=rule.level,
                summary=summary, raised_at=item.at, last_at=item.at, snapshot_url=item.snapshot_url,
            )
    except IntegrityError:  # another ingestor raised it a moment ago: fold into that one
        return _alarm_raise(item)
    audit_record(actor=INGESTOR, action="devices.alarm_raise", target_type="devices.alarm", target_id=alarm.pk,
                 fields=["kind", "level"])
    category = item.category or rule.category
    if category is not None:
        lon, lat, address = _place(device)
        case, _created = case_open(
            actor=INGESTOR, source=CaseSource.CAMERA if item.kind == AlarmKind.CAMERA else CaseSource.IOT,
            category=category, description=summary, lon=lon, lat=lat, address=address, level=rule.level,
            source_key=f"devices.alarm:{alarm.pk}",
        )
        alarm.case = case
        Alarm.objects.filter(pk=alarm.pk).update(case=case)
    if item.kind != AlarmKind.SILENT:
        alarm_notify_responsible(alarm_id=alarm.pk)  # in the alarm's transaction (outbox)
    return alarm, True


def _alarms_clear(device_ids: Sequence[int], kind: str, at: datetime) -> int:
    if not device_ids:
        return 0
    return Alarm.objects.filter(device_id__in=device_ids, kind=kind, status__in=OPEN_ALARM_STATUSES).update(
        status=AlarmStatus.CLEARED, closed_at=at, updated_at=at)


def alarm_transition(*, alarm: Alarm | int, action: str, actor: User, note: str = "",
                     request_id: str = "") -> Alarm:
    """Acknowledge, handle or call a false alarm (from the alarm page or the API)."""
    alarm_id = alarm if isinstance(alarm, int) else alarm.pk
    if action not in workflow.PERSON_ACTIONS:
        raise ValidationFailed("action", _("不支持的操作"))
    if len(note) > 500:
        raise ValidationFailed("note", _("说明不能超过500字"))
    with transaction.atomic():
        found = Alarm.objects.select_for_update().filter(pk=alarm_id).first()
        if found is None or found.grid_id not in scope_for(actor).grid_ids:
            raise NotFound(_("报警不存在"))
        to = workflow.next_status(found.status, action)
        if to is None:
            raise ValidationFailed("action", _("当前状态下不能执行该操作"))
        now = timezone.now()
        found.status = to
        if action == AlarmAction.ACKNOWLEDGE:
            found.acknowledged_by, found.acknowledged_at = actor, now
        else:
            found.closed_by, found.closed_at = actor, now
            if found.acknowledged_at is None:
                found.acknowledged_by, found.acknowledged_at = actor, now
        if note:
            found.note = note
        found.save()
        audit_record(actor=actor, action=f"devices.alarm_{action}", target_type="devices.alarm",
                     target_id=found.pk, fields=["status", "note"], request_id=request_id)
    return found


# --- Ingestion --------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One message as received from the broker."""

    topic: str
    payload: bytes
    received_at: datetime


@dataclass
class IngestReport:
    """What one batch did (the ingestor logs and counts it)."""

    accepted: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    alarms_raised: int = 0
    alarms_folded: int = 0
    alarm_ids: list[int] = field(default_factory=list)

    def add(self, other: IngestReport) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.dead_letters += other.dead_letters
        self.alarms_raised += other.alarms_raised
        self.alarms_folded += other.alarms_folded
        self.alarm_ids += other.alarm_ids


def _dead_letter(message: Message, *, reason: str, detail: str, field_name: str = "") -> DeadLetter:
    text = message.payload[:_DEAD_LETTER_KEEP_CHARS].decode("utf-8", errors="replace")
    return DeadLetter(
        topic=message.topic[:300], message_key=message_digest(message.topic, message.payload), payload=text,
        payload_bytes=len(message.payload), reason=reason, field=field_name[:100], detail=detail[:500],
        received_at=message.received_at,
    )


_STATE_FIELDS = ("status", "battery", "battery_low", "last_seen_at", "last_opened_at", "last_values",
                 "offline_due_at", "absence_due_at", "updated_at")


def _state_row(device: Device) -> tuple[object, ...]:
    return (device.pk, device.status, device.battery, device.battery_low, device.last_seen_at, device.last_opened_at,
            json.dumps(device.last_values, ensure_ascii=False), device.offline_due_at, device.absence_due_at,
            device.updated_at)


def _apply_state(device: Device, signal: Signal, at: datetime) -> None:
    """A fresh signal's effect on the device's state (in memory; saved in bulk)."""
    if device.last_seen_at is None or at >= device.last_seen_at:
        device.last_seen_at = at
    if signal.available is False:
        device.status = DeviceStatus.OFFLINE
        device.offline_due_at = None
    else:
        device.status = DeviceStatus.ONLINE
        device.offline_due_at = at + timedelta(seconds=device.heartbeat_seconds)
    if signal.values:
        device.last_values = {**device.last_values, **signal.values}
        if "battery" in signal.values or "battery_low" in signal.values:
            device.battery = signal.values.get("battery", device.battery)
            device.battery_low = workflow.battery_is_low(device.battery, flag=signal.values.get("battery_low"))
    if signal.door_open and (device.last_opened_at is None or at > device.last_opened_at):
        device.last_opened_at = at
        device.absence_due_at = workflow.absence_due(last_opened_at=at, since=at, hours=device.absence_hours)
    device.updated_at = at


def _camera_alarm(device: Device, signal: Signal, at: datetime) -> AlarmInput | None:
    event = signal.camera
    if event is None or event.phase == "end" or event.label not in workflow.CAMERA_LABELS:
        return None
    code, name = workflow.CAMERA_LABELS[event.label]
    zone = event.zones[0] if event.zones else ""
    spot = f"{device.spot or device.name or device.external_id}{'·' + zone if zone else ''}"
    return AlarmInput(device=device, kind=AlarmKind.CAMERA, at=at, fold_key=f"{event.label}@{zone}"[:100],
                      summary=f"视频AI发现{name}:{spot}", snapshot_url=event.snapshot_url, category=code)


def _ingest(messages: Sequence[Message]) -> IngestReport:
    report = IngestReport()
    dead: list[DeadLetter] = []
    parsed: list[tuple[Message, Signal]] = []
    for message in messages:
        try:
            parsed += [(message, s) for s in parse_message(message.topic, message.payload, message.received_at)]
        except PayloadRefusedError as refused:
            dead.append(_dead_letter(message, reason=refused.reason, detail=refused.detail,
                                     field_name=refused.field_name))
    names = {s.external_id for _m, s in parsed}
    # No joins: the place (grid, building, room) is read only for the rare alarm.
    devices = {d.external_id: d for d in Device.objects.filter(external_id__in=names, active=True)} if names else {}
    known: list[tuple[Message, Signal, Device]] = []
    for message, signal in parsed:
        device = devices.get(signal.external_id)
        if device is None:
            dead.append(_dead_letter(message, reason=DeadLetterReason.UNKNOWN_DEVICE,
                                     detail=f"no active device {signal.external_id!r}", field_name="device"))
        else:
            known.append((message, signal, device))
    seen = set(Reading.objects.filter(device_id__in={d.pk for _m, _s, d in known},
                                      message_key__in={s.message_key for _m, s, _d in known})
               .values_list("device_id", "message_key")) if known else set()
    fresh: list[tuple[Message, Signal, Device]] = []
    for message, signal, device in known:
        key = (device.pk, signal.message_key)
        if key in seen:
            report.duplicates += 1
            continue
        seen.add(key)
        fresh.append((message, signal, device))
    stamp = timezone.now()
    # Core bulk helpers, not ``bulk_create``/``bulk_update``: Django builds a CASE expression
    # per row and field for the latter (30 s for 1,000 devices on a slow core).
    bulk_insert_objects(Reading, [
        Reading(device_id=device.pk, message_key=signal.message_key, received_at=message.received_at,
                values=signal.values, created_at=stamp, updated_at=stamp) for message, signal, device in fresh
    ])
    report.accepted = len(fresh)
    if dead:
        # ``ignore_conflicts``: a redelivered bad message is kept once.
        report.dead_letters = len(dead)
        DeadLetter.objects.bulk_create(dead, ignore_conflicts=True)
    changed: dict[int, Device] = {}
    raise_items: list[AlarmInput] = []
    opened: list[int] = []
    alive: list[int] = []
    for message, signal, device in fresh:
        at = message.received_at
        _apply_state(device, signal, at)
        changed[device.pk] = device
        if signal.door_open:
            opened.append(device.pk)
        if signal.available is not False:
            alive.append(device.pk)
        for value_name, kind in workflow.TRIGGERS.items():
            if signal.values.get(value_name) is True:
                raise_items.append(AlarmInput(device=device, kind=kind, at=at))
        if signal.available is False:
            raise_items.append(AlarmInput(device=device, kind=AlarmKind.SILENT, at=at))
        camera = _camera_alarm(device, signal, at)
        if camera is not None:
            raise_items.append(camera)
    if changed:
        bulk_update(Device, _STATE_FIELDS, [_state_row(d) for d in changed.values()])
    now = timezone.now()
    _alarms_clear(opened, AlarmKind.ABSENCE, now)
    _alarms_clear(alive, AlarmKind.SILENT, now)
    for item in raise_items:
        alarm, created = _alarm_raise(item)
        if created:
            report.alarms_raised += 1
            report.alarm_ids.append(alarm.pk)
        else:
            report.alarms_folded += 1
    return report


def ingest_batch(messages: Sequence[Message]) -> IngestReport:
    """Apply a batch of received messages in one transaction; return what it did.

    A message that cannot be used becomes a dead letter in the same transaction. Should the
    batch fail for another reason (a bug, a refused case), it is retried one message at a
    time, and the message that fails again is kept as a dead letter (``internal``): one bad
    message never blocks the others. A database that is down raises, and the caller
    acknowledges nothing.
    """
    if not messages:
        return IngestReport()
    try:
        with transaction.atomic():
            return _ingest(messages)
    except Exception:
        if len(messages) == 1:
            logger.exception("devices: message on %s failed", messages[0].topic)
            with transaction.atomic():
                DeadLetter.objects.bulk_create([_dead_letter(
                    messages[0], reason=DeadLetterReason.INTERNAL, detail="processing failed (see the log)",
                )], ignore_conflicts=True)
            return IngestReport(dead_letters=1)
    report = IngestReport()
    for message in messages:
        report.add(ingest_batch([message]))
    return report


# --- Sweep ------------------------------------------------------------------------------


@dataclass
class SweepReport:
    """What one sweep did."""

    absences: int = 0
    offline: int = 0
    cameras_closed: int = 0


def device_sweep(*, now: datetime | None = None, batch_size: int = 1000) -> SweepReport:
    """Absence checks, heartbeat checks and camera timeouts: database queries on the due
    columns, each due row claimed with a compare-and-swap, so two sweeps (or a sweep racing
    the ingestor) raise each alarm once. Safe to run any time, as often as wanted."""
    now = now or timezone.now()
    report = SweepReport()
    due = list(Device.objects.filter(absence_due_at__lte=now, active=True)
               .values_list("pk", "absence_due_at")[:batch_size])
    for pk, due_at in due:
        with transaction.atomic():
            if not Device.objects.filter(pk=pk, absence_due_at=due_at).update(absence_due_at=None):
                continue
            device = Device.objects.select_related("grid", "building", "room", "room__unit").get(pk=pk)
            _lon, _lat, address = _place(device)
            hours = device.absence_hours or workflow.DEFAULT_ABSENCE_HOURS
            _alarm, created = _alarm_raise(AlarmInput(
                device=device, kind=AlarmKind.ABSENCE, at=now,
                summary=f"独居老人家门磁{hours}小时未开门,请上门查看:{address}",
            ))
            report.absences += int(created)
    due = list(Device.objects.filter(offline_due_at__lte=now, active=True)
               .values_list("pk", "offline_due_at")[:batch_size])
    for pk, due_at in due:
        with transaction.atomic():
            if not Device.objects.filter(pk=pk, offline_due_at=due_at).update(
                    offline_due_at=None, status=DeviceStatus.OFFLINE, updated_at=now):
                continue
            device = Device.objects.select_related("grid", "building", "room", "room__unit").get(pk=pk)
            _alarm_raise(AlarmInput(device=device, kind=AlarmKind.SILENT, at=now,
                                    summary=f"设备离线,请维护:{device.external_id}"))
            report.offline += 1
    report.cameras_closed = Alarm.objects.filter(
        kind=AlarmKind.CAMERA, status__in=OPEN_ALARM_STATUSES, last_at__lt=now - workflow.CAMERA_IDLE,
    ).update(status=AlarmStatus.CLEARED, closed_at=now, updated_at=now)
    return report
