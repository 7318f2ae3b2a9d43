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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, ExpressionWrapper, F
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Role
from linli.accounts.models import ApiKey, AreaAssignment, User
from linli.accounts.selectors import scope_for
from linli.care.choices import CareEventKind
from linli.care.models import ElderLevel
from linli.care.services import care_event_record
from linli.cases.choices import CaseSource
from linli.cases.services import CaseInput, case_open, case_open_many, case_photo_add
from linli.core.actors import SystemActor
from linli.core.bulk import bulk_insert_objects, db_value, reserve_ids
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.services import audit_record, audit_record_many
from linli.devices import workflow
from linli.devices.adapters import (
    HIKVISION_TOPIC,
    PayloadRefusedError,
    Signal,
    message_digest,
    parse_message,
)
from linli.devices.choices import (
    OPEN_ALARM_STATUSES,
    AlarmAction,
    AlarmKind,
    AlarmStatus,
    DeadLetterReason,
    DeviceKind,
    DeviceStatus,
)
from linli.devices.importing import RowError, read_device_rows
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
# One encoder for the batch's JSON cells (``json.dumps`` with options builds one per call).
_json_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


# --- Registration -----------------------------------------------------------------------


def _lives_alone(person: Person, on: date) -> bool:
    return person.tags.filter(kind=TagKind.LIVING_ALONE_ELDER, valid_from__lte=on).exclude(
        valid_to__lt=on).exists()


def device_register(
    *, actor: User, kind: str, external_id: str, room: Room | None = None, person: Person | None = None,
    grid: Area | None = None, name: str = "", vendor: str = "", model: str = "", spot: str = "",
    absence_hours: int | None = None, lon: float | None = None, lat: float | None = None, request_id: str = "",
    heartbeat_seconds: int | None = None,
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
    heartbeat = heartbeat_seconds or workflow.heartbeat_for(kind)
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
            heartbeat_seconds=heartbeat, absence_hours=absence_hours or None,
            offline_due_at=now + timedelta(seconds=heartbeat),
            absence_due_at=workflow.absence_due(last_opened_at=None, since=now, hours=absence_hours),
        )
        audit_record(actor=actor, action="devices.device_register", target_type="devices.device",
                     target_id=device.pk, fields=["kind", "external_id", "room", "person"], request_id=request_id)
    return device


@dataclass
class ImportReport:
    """What a device import did: ``imported`` external ids, ``rejected`` rows with the field
    and the reason. ``applied`` is False when nothing was written (all-or-nothing mode)."""

    rows: int = 0
    imported: list[str] = field(default_factory=list)
    rejected: list[RowError] = field(default_factory=list)
    applied: bool = False


def device_import(*, actor: User, path: Path | str, keep_valid: bool = False, request_id: str = "") -> ImportReport:
    """Register the devices of a CSV/XLSX list (columns: ``importing.COLUMNS``).

    Every row is checked first. By default the import is all or nothing: one rejected row
    and nothing is written. With ``keep_valid`` the good rows are registered and the
    rejected ones reported, as fusion's imports do. ``FileRefused`` for an unreadable file."""
    rows, rejected = read_device_rows(path, user=actor)
    report = ImportReport(rows=len(rows) + len(rejected), rejected=list(rejected))
    if rejected and not keep_valid:
        return report
    taken = set(Device.objects.filter(external_id__in=[r.values["external_id"] for r in rows]).values_list(
        "external_id", flat=True))
    with transaction.atomic():
        for row in rows:
            if row.values["external_id"] in taken:
                report.rejected.append(RowError(row.row, "external_id", _("该设备标识已登记")))
                continue
            try:
                with transaction.atomic():
                    device_register(actor=actor, request_id=request_id, **row.values)
            except (ValidationFailed, PermissionDenied) as error:
                report.rejected.append(RowError(row.row, error.field or "", str(error.message)))
                continue
            report.imported.append(row.values["external_id"])
        if report.rejected and not keep_valid:
            transaction.set_rollback(True)
            report.imported = []
            return report
    report.rejected.sort(key=lambda e: e.row)
    report.applied = bool(report.imported)
    return report


# --- Notification hook ------------------------------------------------------------------


def alarm_notify_responsible(*, alarm_id: int) -> int:
    """Tell the grid's workers (A and B 角) about a new alarm through the outbox, in the
    alarm's transaction; level-1 alarms ignore quiet hours. The message names the kind and
    the grid, never the person (SMS and push leave the intranet). The case an alarm opens is
    announced to its dispatch target by the cases app. Families have no contact record in
    the registry yet, so they are not told. Returns how many notifications are new."""
    return _alarms_notify([Alarm.objects.select_related("grid").get(pk=alarm_id)])


def _alarms_notify(alarms: Sequence[Alarm]) -> int:
    """:func:`alarm_notify_responsible` for many alarms: the grids' workers read once."""
    workers: dict[int, set[int]] = {}
    for grid_id, user_id in AreaAssignment.objects.filter(
        area_id__in={a.grid_id for a in alarms}, user__role=Role.GRID_WORKER, user__is_active=True,
    ).values_list("area_id", "user_id"):
        workers.setdefault(grid_id, set()).add(user_id)
    new = 0
    for alarm in alarms:
        if alarm.grid_id not in workers:
            continue
        new += notification_enqueue(
            recipient_ids=workers[alarm.grid_id], event_type="devices.alarm",
            variables={"kind": str(AlarmKind(alarm.kind).label), "grid": alarm.grid.name},
            dedup_key=f"devices.alarm:{alarm.pk}", object_type="devices.Alarm", object_id=alarm.pk,
            link=reverse("devices:alarm", args=[alarm.pk]),
            level=NotifyLevel.LEVEL1 if alarm.level == 1 else NotifyLevel.NORMAL,
        )
    return new


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
    _alarms_care_events([alarm])
    return alarm, True


def _alarms_care_events(alarms: Sequence[Alarm]) -> int:
    """An absence alarm at a person's door is a 三必到五必访 trigger: care records a
    door-silence event — a must-visit due the next day, the grid worker told — once per
    alarm (its source), in the alarm's transaction. Returns how many were recorded."""
    recorded = 0
    for alarm in alarms:
        device = alarm.device
        if alarm.kind != AlarmKind.ABSENCE or device.person_id is None or device.person is None:
            continue
        care_event_record(person=device.person, kind=CareEventKind.DOOR_SILENCE,
                          occurred_on=timezone.localdate(alarm.raised_at), actor=INGESTOR,
                          note=alarm.summary[:300], source=f"devices.alarm:{alarm.pk}")
        recorded += 1
    return recorded


def _alarms_raise(items: Sequence[AlarmInput], *, actor: SystemActor) -> list[tuple[Alarm, bool]]:
    """Inside the caller's transaction: :func:`_alarm_raise` for many items at once — one
    query for the open alarms of their keys, one update per folded key, one insert of the
    new alarms, one audit append, one :func:`case_open_many` for their cases. ``(alarm,
    created)`` per item, in order; a repeated key within ``items`` folds into its first.
    Should another ingestor have raised one of the keys meanwhile (the partial unique index
    refuses the insert), the items go one by one."""
    if not items:
        return []
    keys = {(i.device.pk, i.kind, i.fold_key) for i in items}
    open_alarms = {
        (a.device_id, a.kind, a.fold_key): a
        for a in Alarm.objects.filter(device_id__in={k[0] for k in keys}, kind__in={k[1] for k in keys},
                                      status__in=OPEN_ALARM_STATUSES)
        if (a.device_id, a.kind, a.fold_key) in keys
    }
    first: dict[tuple[int, str, str], AlarmInput] = {}
    repeats: dict[tuple[int, str, str], tuple[int, datetime]] = {}
    for item in items:
        key = (item.device.pk, item.kind, item.fold_key)
        if key in open_alarms or key in first:
            count, last = repeats.get(key, (0, item.at))
            repeats[key] = (count + 1, max(last, item.at))
        else:
            first[key] = item
    new: list[Alarm] = []
    stamp = timezone.now()
    for key, item in first.items():
        rule = workflow.ALARM_RULES[item.kind]
        count, last = repeats.get(key, (0, item.at))
        new.append(Alarm(device=item.device, grid=item.device.grid, kind=item.kind, fold_key=item.fold_key,
                         level=rule.level, summary=_summary(item), raised_at=item.at, last_at=last,
                         repeats=count, snapshot_url=item.snapshot_url, created_at=stamp, updated_at=stamp))
    if new:
        # Ids drawn first and rows written as tuples: ``bulk_create`` compiled each value
        # through its field (most of a 100-alarm sweep's time on a loaded core).
        for alarm, pk in zip(new, reserve_ids(Alarm, len(new)), strict=True):
            alarm.pk = pk
        try:
            with transaction.atomic():
                bulk_insert_objects(Alarm, new)
        except IntegrityError:  # raised elsewhere a moment ago: fold one by one
            return [_alarm_raise(item) for item in items]
        audit_record_many(actor=actor, action="devices.alarm_raise", target_type="devices.alarm",
                          targets=[(a.pk, ["kind", "level"]) for a in new])
        _alarms_open_cases(new, first, actor)
        _alarms_notify([a for a in new if a.kind != AlarmKind.SILENT])  # in the alarms' transaction (outbox)
        _alarms_care_events(new)
    # After the insert: had it fallen back to one by one, these repeats would count twice.
    for key, (count, last) in repeats.items():
        if key in open_alarms:
            Alarm.objects.filter(pk=open_alarms[key].pk).update(repeats=F("repeats") + count, last_at=last)
    by_key = {**open_alarms, **{(a.device_id, a.kind, a.fold_key): a for a in new}}
    result: list[tuple[Alarm, bool]] = []
    for item in items:
        key = (item.device.pk, item.kind, item.fold_key)
        result.append((by_key[key], first.get(key) is item))
    return result


def _alarms_open_cases(new: Sequence[Alarm], first: Mapping[tuple[int, str, str], AlarmInput], actor: SystemActor,
                       ) -> None:
    """The cases of new alarms that need hands, in one :func:`case_open_many` (idempotent by
    the alarm's id), linked back with one update per alarm."""
    wanted: list[tuple[Alarm, CaseInput]] = []
    for alarm in new:
        item = first[(alarm.device_id, alarm.kind, alarm.fold_key)]
        category = item.category or workflow.ALARM_RULES[item.kind].category
        if category is None:
            continue
        lon, lat, address = _place(item.device)
        wanted.append((alarm, CaseInput(
            source=CaseSource.CAMERA if item.kind == AlarmKind.CAMERA else CaseSource.IOT, category=category,
            description=alarm.summary, lon=lon, lat=lat, address=address, level=alarm.level,
            source_key=f"devices.alarm:{alarm.pk}",
        )))
    if not wanted:
        return
    opened = case_open_many(actor=actor, items=[c for _a, c in wanted])
    for (alarm, _input), (case, _created) in zip(wanted, opened, strict=True):
        alarm.case = case
        Alarm.objects.filter(pk=alarm.pk).update(case=case)


def _id_list(ids: Sequence[int] | set[int]) -> tuple[str, list[Any]]:
    """``IN (…)`` of ids as SQL text and its parameter: one JSON array, expanded by the
    database (the ORM's ``__in`` prepares each value through the field, and the driver then
    adapts each: 300 µs for a batch's thousand ids, per query)."""
    unique = list(dict.fromkeys(ids))
    if connection.vendor == "postgresql":
        return "(SELECT (jsonb_array_elements_text(%s::jsonb))::bigint)", [_json_text(unique)]
    return "(SELECT value FROM json_each(%s))", [_json_text(unique)]


def _text_list(values: Sequence[str] | set[str]) -> tuple[str, list[Any]]:
    """:func:`_id_list` for strings."""
    unique = list(dict.fromkeys(values))
    if connection.vendor == "postgresql":
        return "(SELECT jsonb_array_elements_text(%s::jsonb))", [_json_text(unique)]
    return "(SELECT value FROM json_each(%s))", [_json_text(unique)]


def _alarms_clear(device_ids: Sequence[int], kind: str, at: datetime) -> int:
    if not device_ids:
        return 0
    listed, params = _id_list(device_ids)
    statuses = [str(s) for s in OPEN_ALARM_STATUSES]
    stamp: Any = db_value(at)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE devices_alarm SET status = %s, closed_at = %s, updated_at = %s WHERE kind = %s "  # noqa: S608
            f"AND status IN ({', '.join(['%s'] * len(statuses))}) AND device_id IN {listed}",
            [AlarmStatus.CLEARED, stamp, stamp, kind, *statuses, *params])
        return int(cursor.rowcount)


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
    """One message as received from the broker. ``received_at`` is its arrival (the state
    folds by it, newer wins). ``signals`` / ``refused``: parsed already (the ingestor parses
    on arrival to see which messages are urgent), else parsed by :func:`ingest_batch`."""

    topic: str
    payload: bytes
    received_at: datetime
    signals: tuple[Signal, ...] | None = None
    refused: PayloadRefusedError | None = None

    @classmethod
    def parsed(cls, topic: str, payload: bytes, received_at: datetime) -> Message:
        try:
            signals = tuple(parse_message(topic, payload, received_at))
        except PayloadRefusedError as refused:
            return cls(topic, payload, received_at, refused=refused)
        return cls(topic, payload, received_at, signals=signals)

    @property
    def urgent(self) -> bool:
        """An alarm with a case in it: committed ahead of queued telemetry."""
        return any(workflow.is_urgent(s.values, camera_label=s.camera.label if s.camera else None,
                                      camera_phase=s.camera.phase if s.camera else "")
                   for s in self.signals or ())


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


def _devices_by_name(names: set[str]) -> dict[str, _Known]:
    """The active devices of the batch: the few columns the state update needs, as tuples
    (not model instances: 90 µs a device on the ORM path, most of a batch's Python cost)."""
    if not names:
        return {}
    listed, params = _text_list(names)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, external_id, heartbeat_seconds, absence_hours FROM devices_device "  # noqa: S608
                       f"WHERE active AND external_id IN {listed}", params)
        return {name: _Known(int(pk), int(heartbeat), hours) for pk, name, heartbeat, hours in cursor.fetchall()}


@dataclass(frozen=True)
class _Known:
    pk: int
    heartbeat_seconds: int
    absence_hours: int | None


@dataclass
class _Change:
    """What a batch's messages do to one device's state, folded in arrival order and written
    by one ``UPDATE`` that merges them with the stored state (no read of the row)."""

    device: _Known
    seen_at: datetime
    status: str = DeviceStatus.ONLINE
    offline_due_at: datetime | None = None
    values: dict[str, object] = field(default_factory=dict)
    battery: int | None = None
    battery_low: bool | None = None
    opened_at: datetime | None = None
    absence_due_at: datetime | None = None

    def apply(self, signal: Signal, at: datetime) -> None:
        self.seen_at = max(self.seen_at, at)
        if signal.available is False:
            self.status, self.offline_due_at = DeviceStatus.OFFLINE, None
        else:
            self.status = DeviceStatus.ONLINE
            self.offline_due_at = at + timedelta(seconds=self.device.heartbeat_seconds)
        if signal.values:
            self.values.update(signal.values)
            if "battery" in signal.values or "battery_low" in signal.values:
                # The message's own flag, else its level: nothing of the stored state is needed.
                if "battery" in signal.values:
                    self.battery = signal.values["battery"]
                self.battery_low = workflow.battery_is_low(signal.values.get("battery"),
                                                           flag=signal.values.get("battery_low"))
        if signal.door_open and (self.opened_at is None or at > self.opened_at):
            self.opened_at = at
            self.absence_due_at = workflow.absence_due(last_opened_at=at, since=at, hours=self.device.absence_hours)


# Both statements below merge a batch's change into the stored row *newer wins*: a change
# older than the row's ``last_seen_at`` (an alarm committed ahead of the telemetry queued before
# it, a late redelivery, a webhook racing the ingestor) fills in what is missing but never
# moves the status, the deadlines, the battery or a value back.
_NEWER = "(last_seen_at IS NULL OR last_seen_at <= {seen})"


def _state_statement_sqlite() -> str:
    """One ``UPDATE`` per device (``executemany``, in-process on SQLite); the ``SET``
    expressions all read the row as it was."""
    newer = _NEWER.format(seen="%s")
    newer_opening = "COALESCE(%s > last_opened_at, %s IS NOT NULL)"
    return (
        "UPDATE devices_device SET "  # noqa: S608 -- no value in the text
        "last_seen_at = CASE WHEN last_seen_at IS NULL OR last_seen_at <= %s THEN %s ELSE last_seen_at END, "
        f"status = CASE WHEN {newer} THEN %s ELSE status END, "
        f"offline_due_at = CASE WHEN {newer} THEN %s ELSE offline_due_at END, "
        f"last_values = CASE WHEN {newer} THEN json_patch(last_values, %s) ELSE json_patch(%s, last_values) END, "
        f"battery = CASE WHEN {newer} THEN COALESCE(%s, battery) ELSE COALESCE(battery, %s) END, "
        f"battery_low = CASE WHEN {newer} THEN COALESCE(%s, battery_low) ELSE battery_low END, "
        f"last_opened_at = CASE WHEN {newer_opening} THEN %s ELSE last_opened_at END, "
        f"absence_due_at = CASE WHEN {newer_opening} THEN %s ELSE absence_due_at END, "
        "updated_at = %s WHERE id = %s"
    )


# PostgreSQL: one statement for the whole batch, its rows in one JSON parameter (a thousand
# single-row ``UPDATE``s cost 0.6 s a batch on a loaded core: parameters adapted one by one).
_STATE_STATEMENT_PG = (  # noqa: S608 -- no value in the text
    "UPDATE devices_device AS d SET "
    "last_seen_at = GREATEST(d.last_seen_at, c.seen), "
    "status = CASE WHEN {newer} THEN c.status ELSE d.status END, "
    "offline_due_at = CASE WHEN {newer} THEN c.offline_due ELSE d.offline_due_at END, "
    "last_values = CASE WHEN {newer} THEN d.last_values || c.vals ELSE c.vals || d.last_values END, "
    "battery = CASE WHEN {newer} THEN COALESCE(c.battery, d.battery) ELSE COALESCE(d.battery, c.battery) END, "
    "battery_low = CASE WHEN {newer} THEN COALESCE(c.battery_low, d.battery_low) ELSE d.battery_low END, "
    "last_opened_at = CASE WHEN COALESCE(c.opened > d.last_opened_at, c.opened IS NOT NULL) "
    "THEN c.opened ELSE d.last_opened_at END, "
    "absence_due_at = CASE WHEN COALESCE(c.opened > d.last_opened_at, c.opened IS NOT NULL) "
    "THEN c.absence_due ELSE d.absence_due_at END, "
    "updated_at = %s::timestamptz "
    "FROM (SELECT (e->>0)::bigint AS id, (e->>1)::timestamptz AS seen, e->>2 AS status, "
    "(e->>3)::timestamptz AS offline_due, e->4 AS vals, (e->>5)::integer AS battery, "
    "(e->>6)::boolean AS battery_low, (e->>7)::timestamptz AS opened, (e->>8)::timestamptz AS absence_due "
    "FROM jsonb_array_elements(%s::jsonb) AS e) AS c WHERE d.id = c.id"
).format(newer=_NEWER.format(seen="c.seen").replace("last_seen_at", "d.last_seen_at"))


def _iso(value: datetime | None, cache: dict[datetime | None, str | None]) -> str | None:
    """A JSON cell for PostgreSQL's ``::timestamptz`` (a batch shares a few instants)."""
    if value not in cache:
        cache[value] = None if value is None else value.isoformat()
    return cache[value]


def _states_write(changes: Sequence[_Change], stamp: datetime) -> None:
    if not changes:
        return
    if connection.vendor == "postgresql":
        iso: dict[datetime | None, str | None] = {}
        rows_pg = [[c.device.pk, _iso(c.seen_at, iso), c.status, _iso(c.offline_due_at, iso), c.values, c.battery,
                    c.battery_low, _iso(c.opened_at, iso), _iso(c.absence_due_at, iso)] for c in changes]
        with connection.cursor() as cursor:
            cursor.execute(_STATE_STATEMENT_PG, [stamp, _json_text(rows_pg)])
        return
    adapted: dict[datetime | None, Any] = {None: None}

    def t(value: datetime | None) -> Any:  # a batch shares a few instants: adapt each once
        if value not in adapted:
            adapted[value] = db_value(value)
        return adapted[value]

    rows = []
    for c in changes:
        seen, values, opened = t(c.seen_at), _json_text(c.values), t(c.opened_at)
        rows.append((seen, seen, seen, c.status, seen, t(c.offline_due_at), seen, values, values, seen, c.battery,
                     c.battery, seen, c.battery_low, opened, opened, opened, opened, opened,
                     t(c.absence_due_at), t(stamp), c.device.pk))
    with connection.cursor() as cursor:
        cursor.executemany(_state_statement_sqlite(), rows)


_READING_CHUNK = 1000


def _readings_insert(rows: Sequence[tuple[int, str, datetime, dict[str, object]]], stamp: datetime,
                     ) -> set[tuple[int, str]]:
    """Insert the batch's readings, skipping any ``(device, message_key)`` stored already (a
    QoS 1 redelivery, another ingestor): the keys actually inserted. The unique constraint
    decides, in the same statement, so a race between two ingestors cannot write twice."""
    inserted: set[tuple[int, str]] = set()
    if not rows:
        return inserted
    conflict = "ON CONFLICT (device_id, message_key) DO NOTHING RETURNING device_id, message_key"
    columns = "created_at, updated_at, device_id, message_key, received_at, \"values\""
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _READING_CHUNK):
            chunk = rows[start:start + _READING_CHUNK]
            if connection.vendor == "postgresql":
                # One JSON parameter for the chunk (arrays were adapted cell by cell), and one
                # row back: the count, and the keys only when some were already stored.
                iso: dict[datetime | None, str | None] = {}
                cursor.execute(
                    f"WITH ins AS (INSERT INTO devices_reading ({columns}) "  # noqa: S608
                    "SELECT %s, %s, (e->>0)::bigint, e->>1, (e->>2)::timestamptz, e->3 "
                    f"FROM jsonb_array_elements(%s::jsonb) AS e {conflict}) "
                    "SELECT count(*), CASE WHEN count(*) < %s THEN json_agg(json_build_array(device_id, message_key)) "
                    "END FROM ins",
                    [stamp, stamp, _json_text([[r[0], r[1], _iso(r[2], iso), r[3]] for r in chunk]), len(chunk)])
                count, keys = cursor.fetchone()
                if count == len(chunk):
                    inserted.update((r[0], r[1]) for r in chunk)
                elif keys:
                    listed = json.loads(keys) if isinstance(keys, str) else keys
                    inserted.update((int(pk), str(key)) for pk, key in listed)
                continue
            at = db_value(stamp)
            cells: list[Any] = []
            received_text: dict[datetime, Any] = {}
            for pk, key, received, values in chunk:
                if received not in received_text:
                    received_text[received] = db_value(received)
                cells += (at, at, pk, key, received_text[received], _json_text(values))
            placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(f"INSERT INTO devices_reading ({columns}) VALUES {placeholders} {conflict}",  # noqa: S608
                           cells)
            inserted.update((int(pk), str(key)) for pk, key in cursor.fetchall())
    return inserted


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
            if message.refused is not None:
                raise message.refused
            signals = message.signals if message.signals is not None else parse_message(
                message.topic, message.payload, message.received_at)
            parsed += [(message, s) for s in signals]
        except PayloadRefusedError as refused:
            dead.append(_dead_letter(message, reason=refused.reason, detail=refused.detail,
                                     field_name=refused.field_name))
    devices = _devices_by_name({s.external_id for _m, s in parsed})
    candidates: dict[tuple[int, str], tuple[Message, Signal, _Known]] = {}
    in_batch_repeats = 0
    for message, signal in parsed:
        device = devices.get(signal.external_id)
        if device is None:
            dead.append(_dead_letter(message, reason=DeadLetterReason.UNKNOWN_DEVICE,
                                     detail=f"no active device {signal.external_id!r}", field_name="device"))
        elif (device.pk, signal.message_key) in candidates:
            in_batch_repeats += 1
        else:
            candidates[(device.pk, signal.message_key)] = (message, signal, device)
    stamp = timezone.now()
    inserted = _readings_insert([(d.pk, s.message_key, m.received_at, s.values) for m, s, d in candidates.values()],
                                stamp)
    # Arrival order is kept (dicts are ordered): the state folds messages in the order received.
    fresh = [item for key, item in candidates.items() if key in inserted]
    report.accepted = len(fresh)
    report.duplicates = len(candidates) - len(fresh) + in_batch_repeats
    if dead:
        # ``ignore_conflicts``: a redelivered bad message is kept once.
        report.dead_letters = len(dead)
        DeadLetter.objects.bulk_create(dead, ignore_conflicts=True)
    changes: dict[int, _Change] = {}
    triggered: list[tuple[int, str, datetime, Signal]] = []
    opened: list[int] = []
    alive: list[int] = []
    for message, signal, device in fresh:
        at = message.received_at
        change = changes.get(device.pk)
        if change is None:
            change = changes[device.pk] = _Change(device=device, seen_at=at)
        change.apply(signal, at)
        if signal.door_open:
            opened.append(device.pk)
        if signal.available is not False:
            alive.append(device.pk)
        for value_name, kind in workflow.TRIGGERS.items():
            if signal.values.get(value_name) is True:
                triggered.append((device.pk, kind, at, signal))
        if signal.available is False:
            triggered.append((device.pk, AlarmKind.SILENT, at, signal))
        if signal.camera is not None:
            triggered.append((device.pk, AlarmKind.CAMERA, at, signal))
    _states_write(list(changes.values()), stamp)
    now = timezone.now()
    _alarms_clear(opened, AlarmKind.ABSENCE, now)
    _alarms_clear(alive, AlarmKind.SILENT, now)
    if triggered:
        # Alarms are rare beside telemetry: only their devices are read as model instances.
        full = Device.objects.select_related("grid", "building", "room", "room__unit").in_bulk(
            {pk for pk, _k, _a, _s in triggered})
        items: list[AlarmInput] = []
        for pk, kind, at, signal in triggered:
            if kind == AlarmKind.CAMERA:
                camera = _camera_alarm(full[pk], signal, at)
                if camera is not None:
                    items.append(camera)
            else:
                items.append(AlarmInput(device=full[pk], kind=kind, at=at))
        for _alarm, created in _alarms_raise(items, actor=INGESTOR):
            report.alarms_raised += int(created)
            report.alarms_folded += int(not created)
            if created:
                report.alarm_ids.append(_alarm.pk)
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


# --- Hikvision webhook ------------------------------------------------------------------


def hikvision_receive(*, key: ApiKey, payload: bytes, received_at: datetime | None = None,
                      picture: bytes | None = None) -> IngestReport:
    """Ingest one ISAPI event posted by a Hikvision camera or NVR with an integration key.

    The same path as a broker message (``adapters.HIKVISION_TOPIC``): readings, camera
    alarms folded per camera, zone and label, dead letters. A camera registered in a grid
    outside the key's areas is treated like an unknown one (a dead letter), so a key can
    never raise alarms in another street."""
    message = Message(topic=HIKVISION_TOPIC, payload=payload, received_at=received_at or timezone.now())
    try:
        signals = parse_message(message.topic, message.payload, message.received_at)
    except PayloadRefusedError:
        return ingest_batch([message])  # keeps the dead letter with its reason
    grids = scope_for(key).grid_ids
    for signal in signals:
        grid_id = Device.objects.filter(external_id=signal.external_id, active=True).values_list(
            "grid_id", flat=True).first()
        if grid_id is not None and grid_id not in grids:
            with transaction.atomic():
                DeadLetter.objects.bulk_create([_dead_letter(
                    message, reason=DeadLetterReason.UNKNOWN_DEVICE, field_name="device",
                    detail=f"device {signal.external_id!r} is outside the areas of key {key.prefix}",
                )], ignore_conflicts=True)
            return IngestReport(dead_letters=1)
    report = ingest_batch([message])
    if picture and report.alarms_raised:
        _camera_picture_attach(external_ids=[s.external_id for s in signals], picture=picture)
    return report


def _camera_picture_attach(*, external_ids: list[str], picture: bytes) -> None:
    """The picture a camera posted with an event that just raised an alarm: a photo of the
    alarm's case (content-addressed under the data folder, like a reporter's photo). A
    picture that is not a JPEG/PNG/WebP is dropped (the event itself is kept)."""
    alarm = (Alarm.objects.filter(device__external_id__in=external_ids, kind=AlarmKind.CAMERA,
                                  status__in=OPEN_ALARM_STATUSES, case__isnull=False)
             .order_by("-raised_at", "-pk").first())
    if alarm is None or alarm.case_id is None:
        return
    try:
        case_photo_add(case=alarm.case_id, actor=INGESTOR, photos=[picture])
    except ValidationFailed as refused:
        logger.warning("camera picture dropped for alarm %s: %s", alarm.pk, refused.message)


# --- Sweep ------------------------------------------------------------------------------


@dataclass
class SweepReport:
    """What one sweep did."""

    absences: int = 0
    offline: int = 0
    cameras_closed: int = 0
    readings_purged: int = 0


def _claim_due(column: str, now: datetime, limit: int, **also: object) -> list[int]:
    """Claim up to ``limit`` devices whose ``column`` deadline has passed: one ``UPDATE`` that
    clears it and returns the ids. The row's own check (``column <= now``) is in the
    statement, so of two sweeps racing on a row only the first one's update matches it (on
    PostgreSQL the second re-reads the row after the first commits and finds it cleared)."""
    quote = connection.ops.quote_name
    sets = ", ".join([f"{quote(column)} = NULL", *(f"{quote(name)} = %s" for name in also)])
    params: list[Any] = [*(db_value(v) for v in also.values()), db_value(now), db_value(now), limit]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE devices_device SET {sets} WHERE {quote(column)} <= %s AND id IN "  # noqa: S608 -- names from code
            f"(SELECT id FROM devices_device WHERE {quote(column)} <= %s AND active ORDER BY {quote(column)} "
            "LIMIT %s) RETURNING id",
            params)
        return [int(pk) for (pk,) in cursor.fetchall()]


def readings_purge(*, now: datetime | None = None, days: int | None = None, chunk: int = 5000) -> int:
    """Delete readings received more than ``days`` ago (``LINLI_DEVICE_READINGS_DAYS``; 0
    keeps them): how many. Readings are walked from the lowest id (arrival order) by chunks,
    each deleted in its own transaction, and the walk stops at the first chunk holding a
    younger reading — so a run with nothing to delete reads one row, and no index on the
    time is needed. A redelivery of a purged message is long past the broker's retries."""
    days = settings.LINLI_DEVICE_READINGS_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    purged = 0
    probe = 1  # the first look reads one row: most runs find nothing old
    while True:
        with transaction.atomic():
            rows = list(Reading.objects.order_by("id").values_list("id", "received_at")[:probe])
            old = [pk for pk, received in rows if received < cutoff]
            if old:
                Reading.objects.filter(pk__in=old).delete()
                purged += len(old)
        if not rows or len(old) < len(rows):
            return purged
        probe = chunk


def absence_shorten_by_level(*, by_colour: Mapping[str, int]) -> int:
    """Bring forward the absence deadline of door contacts whose elder's care colour asks for
    a shorter threshold than the device's: one set-based ``UPDATE`` per colour (a join on the
    elder's level), touching only the rows still set to the longer deadline — so the ingestor
    keeps writing ``last opening + absence_hours`` and a colour that turns red takes effect
    at the next sweep, without waiting for the door. A deadline is only ever moved earlier
    (a colour turning green waits for the next opening). How many rows moved."""
    moved = 0
    base = Coalesce(F("last_opened_at"), F("created_at"))
    for colour, hours in by_colour.items():
        due = ExpressionWrapper(base + timedelta(hours=hours), output_field=DateTimeField())
        # driven from the (few) elders of the colour through the device_person index
        elders = ElderLevel.objects.filter(colour=colour).values("person_id")
        moved += (Device.objects.filter(person_id__in=elders, absence_due_at__isnull=False, absence_hours__gt=hours)
                  .filter(absence_due_at__gt=due).update(absence_due_at=due))
    return moved


def device_sweep(*, now: datetime | None = None, batch_size: int = 1000) -> SweepReport:
    """Absence checks, heartbeat checks and camera timeouts: database queries on the due
    columns. Each chunk of due devices is claimed (the deadline cleared) and its alarms and
    cases written in one transaction, so a crash loses no check and two sweeps (or a sweep
    racing the ingestor) raise each alarm once. Safe to run any time, as often as wanted."""
    now = now or timezone.now()
    report = SweepReport()
    related = ("grid", "building", "room", "room__unit")
    by_colour = settings.LINLI_DEVICE_ABSENCE_HOURS_BY_COLOUR
    absence_shorten_by_level(by_colour=by_colour)
    while True:
        with transaction.atomic():
            claimed = _claim_due("absence_due_at", now, batch_size)
            devices = Device.objects.select_related(*related, "person__care_level").in_bulk(claimed)
            items = []
            for pk in claimed:
                device = devices[pk]
                _lon, _lat, address = _place(device)
                level = getattr(device.person, "care_level", None) if device.person else None
                hours = workflow.absence_hours_for(device_hours=device.absence_hours or workflow.DEFAULT_ABSENCE_HOURS,
                                                   colour=level.colour if level else None, by_colour=by_colour)
                items.append(AlarmInput(device=device, kind=AlarmKind.ABSENCE, at=now,
                                        summary=f"独居老人家门磁{hours}小时未开门,请上门查看:{address}"))
            report.absences += sum(created for _a, created in _alarms_raise(items, actor=INGESTOR))
        if len(claimed) < batch_size:
            break
    while True:
        with transaction.atomic():
            claimed = _claim_due("offline_due_at", now, batch_size, status=DeviceStatus.OFFLINE, updated_at=now)
            devices = Device.objects.select_related(*related).in_bulk(claimed)
            _alarms_raise([AlarmInput(device=devices[pk], kind=AlarmKind.SILENT, at=now,
                                      summary=f"设备离线,请维护:{devices[pk].external_id}") for pk in claimed],
                          actor=INGESTOR)
            report.offline += len(claimed)
        if len(claimed) < batch_size:
            break
    report.cameras_closed = Alarm.objects.filter(
        kind=AlarmKind.CAMERA, status__in=OPEN_ALARM_STATUSES, last_at__lt=now - workflow.CAMERA_IDLE,
    ).update(status=AlarmStatus.CLEARED, closed_at=now, updated_at=now)
    report.readings_purged = readings_purge(now=now)
    return report
