"""Seeding a year of the service halls: reading the catalogue, windows, clerks and residents,
and writing the generated applications, their events and the appointments in bulk
(:mod:`linli.demo.hall_history` generates them)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any, Final

from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.departments_seed import seed_department_for
from linli.accounts.models import AreaAssignment, Department
from linli.catalogue.forms_schema import form_fields
from linli.catalogue.models import (
    Application,
    ApplicationEvent,
    Appointment,
    NumberSequence,
    ServiceItem,
    ServiceWindow,
)
from linli.catalogue.services import application_overdue_sweep
from linli.core import pii
from linli.core.actors import Actor
from linli.core.calendar import SHANGHAI
from linli.core.services import audit_record
from linli.demo.bulk import BulkWriter
from linli.demo.hall_history import (
    APPLICATIONS_PER_DAY,
    APPOINTMENTS_PER_WINDOW_DAY,
    BOOK_AHEAD_DAYS,
    HallBatch,
    HallCommunity,
    HallHistoryGenerator,
    HallItem,
    HallPerson,
    HallReport,
)
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.registry.models import Person, PersonTag
from linli.registry.text import PII_ID_NUMBER, PII_PHONE

Progress = Callable[[str], None]




def _line_of(department: Department) -> str:
    """The short name (条线: 民政, 残联 …) by which the hall history names a department."""
    seed = seed_department_for(department.code)
    return seed.lines[0] if seed and seed.lines else department.name


def hall_inputs() -> tuple[list[HallItem], list[HallCommunity]]:
    """Active items with a published version, and each community with its window, clerks
    and adult residents."""
    items = []
    for item in ServiceItem.objects.filter(active=True, current_version__isnull=False).select_related(
            "current_version").order_by("code"):
        version = item.current_version
        if version is None:
            continue
        steps = version.form.get("steps", []) if isinstance(version.form, dict) else []
        details = tuple(f for step in steps if step.get("key") == "details" for f in step.get("fields", []))
        items.append(HallItem(
            version_id=version.pk, item_id=item.pk, code=item.code, name=item.name, department=_line_of(item.department),
            level=item.level, kind=item.kind, time_limit_days=version.time_limit_days,
            promised_days=version.promised_days, rule=version.rules,
            materials=tuple(str(m.get("name", "")) for m in version.materials if isinstance(m, dict) and m.get("required")),
            details=details, form_keys=frozenset(f["key"] for f in form_fields(version.form)),
        ))
    communities = list(Area.objects.filter(level=AreaLevel.COMMUNITY).order_by("code"))
    windows = {w.community_id: w for w in ServiceWindow.objects.filter(active=True).order_by("code")}
    clerks: dict[int, list[tuple[int, str]]] = {}
    for area_id, user_id, display, username in AreaAssignment.objects.filter(
            user__role=Role.COMMUNITY_STAFF, area__level=AreaLevel.COMMUNITY,
            kind=AssignmentKind.MEMBER).order_by("user_id").values_list(
            "area_id", "user_id", "user__display_name", "user__username"):
        clerks.setdefault(area_id, []).append((user_id, display or username))
    grid_to_community: dict[int, int] = {}
    paths = {c.pk: c.path for c in communities}
    for grid_id, path in Area.objects.filter(level=AreaLevel.GRID).values_list("pk", "path"):
        for owner, owner_path in paths.items():
            if path.startswith(owner_path):
                grid_to_community[grid_id] = owner
    tags: dict[int, set[str]] = {}
    for person_id, kind in PersonTag.objects.filter(kind="veteran").values_list("person_id", "kind"):
        tags.setdefault(person_id, set()).add(kind)
    people: dict[int, list[HallPerson]] = {}
    today = timezone.localdate()
    adult = date(today.year - 18, today.month, min(today.day, 28))
    # One adult in four is enough to draw a year of applicants from, and reads a quarter of
    # the street (and the veterans, few and needed for their own items).
    sample = Q(sample=0) | Q(pk__in=list(tags))
    for pk, name, masked, born, sex, hukou, grid_id in Person.objects.filter(
            is_deceased=False, grid__isnull=False, birth_date__lte=adult).annotate(
            sample=F("id") % 4).filter(sample).order_by("id").values_list(
            "pk", "name", "id_number_masked", "birth_date", "sex", "hukou", "grid_id"):
        community_id = grid_to_community.get(grid_id or 0)
        if community_id is not None:
            people.setdefault(community_id, []).append(
                HallPerson(pk, name, masked, born, sex, hukou, frozenset(tags.get(pk, ()))))
    out = []
    for community in communities:
        window = windows.get(community.pk)
        out.append(HallCommunity(
            id=community.pk, name=community.name, window_id=window.pk if window else None,
            opening_hours=dict(window.opening_hours) if window else {}, slot_minutes=window.slot_minutes if window else 30,
            capacity=window.capacity_per_slot if window else 0, clerks=tuple(clerks.get(community.pk, ())),
            people=tuple(people.get(community.pk, ())),
        ))
    return items, out


def hall_history_present() -> bool:
    return Application.objects.exists() or Appointment.objects.exists()


class _Sealer:
    """The applicant's ID number and phone, sealed for the application (and the booking)."""

    def __init__(self, person_ids: set[int]) -> None:
        self.secrets = {pk: (id_enc, phone_enc) for pk, id_enc, phone_enc in Person.objects.filter(
            pk__in=person_ids).values_list("pk", "id_number_enc", "phone_enc")}

    def plain(self, person_id: int) -> tuple[str, str]:
        id_enc, phone_enc = self.secrets.get(person_id, ("", ""))
        return (pii.decrypt(id_enc, field=PII_ID_NUMBER) if id_enc else "",
                pii.decrypt(phone_enc, field=PII_PHONE) if phone_enc else "")


_APP_FIELDS: Final = list(Application._meta.concrete_fields)


def _application_tuples(rows: list[dict[str, Any]], writer: BulkWriter, sealer: _Sealer,
                        numbers: dict[str, int]) -> Iterator[tuple[Any, ...]]:
    adapt = writer.datetime_adapter()
    defaults = {f.attname: f.get_default() for f in _APP_FIELDS}
    stamps = {f.attname for f in _APP_FIELDS if f.get_internal_type() == "DateTimeField"}
    json_fields = {f.attname for f in _APP_FIELDS if f.get_internal_type() == "JSONField"}
    for row in rows:
        day = row["submitted_at"].astimezone(SHANGHAI).date()
        key = f"application:{day:%Y%m%d}"
        numbers[key] = numbers.get(key, 0) + 1
        row["number"] = f"SQ-{day:%Y%m%d}-{numbers[key]:04d}"
        id_number, phone = sealer.plain(row["applicant_id"])
        data = row["data"]
        if id_number:
            data.update(id_number=pii.mask_id_number(id_number),
                        id_number_enc=pii.encrypt(id_number, field="application.id_number"))
        if phone:
            data.update(phone=pii.mask_phone(phone), phone_enc=pii.encrypt(phone, field="application.phone"))
        row.setdefault("updated_at", row["created_at"])
        values = []
        for f in _APP_FIELDS:
            value = row.get(f.attname, defaults[f.attname])
            if f.attname in stamps and value is not None and adapt is not None:
                value = adapt(value)
            elif f.attname in json_fields:
                value = None if value is None else json.dumps(value, ensure_ascii=False)
            values.append(value)
        yield tuple(values)


def seed_hall_history(*, actor: Actor, seed: int, days: int = 365, end: date | None = None,
                      applications_per_day: float = APPLICATIONS_PER_DAY,
                      bookings_per_window_day: float = APPOINTMENTS_PER_WINDOW_DAY,
                      progress: Progress | None = None) -> HallReport:
    """Write ``days`` days of applications and appointments up to ``end`` (today by default).

    Skips (``report.skipped``) when the halls already have applications or appointments,
    so ``linli demo`` can call it every time.
    """
    report = HallReport()
    if hall_history_present():
        report.skipped = True
        return report
    started = time.perf_counter()
    items, communities = hall_inputs()
    if not items or not any(c.people for c in communities):
        report.skipped = True
        return report
    end = end or timezone.localdate()
    now = min(timezone.now(), datetime(end.year, end.month, end.day, 18, 0, tzinfo=SHANGHAI))
    generator = HallHistoryGenerator(items=items, communities=communities, seed=seed,
                                     per_day=applications_per_day,
                                     bookings_per_window_day=bookings_per_window_day)
    say = progress or (lambda _message: None)
    first_app = int(Application.objects.aggregate(top=Max("id"))["top"] or 0) + 1
    first_event = int(ApplicationEvent.objects.aggregate(top=Max("id"))["top"] or 0) + 1
    first_booking = int(Appointment.objects.aggregate(top=Max("id"))["top"] or 0) + 1
    numbers = dict(NumberSequence.objects.filter(key__startswith="application:").values_list("key", "value"))
    queues: dict[str, int] = {}
    held: dict[int, set[str]] = {}
    batch = HallBatch()
    apps: list[dict[str, Any]] = []
    for day in generator.days(end=end + timedelta(days=BOOK_AHEAD_DAYS), days=days + BOOK_AHEAD_DAYS):
        rng = random.Random(f"{seed}:hall:{day.isoformat()}")
        if day <= end:
            rows, events = generator.applications(rng, day, now, first_app + len(apps), first_event + len(batch.events),
                                                  held)
            apps += rows
            batch.events += events
        batch.appointments += generator.appointments(rng, day, now, first_booking + len(batch.appointments), queues)
    report.timings["generate"] = time.perf_counter() - started
    written = time.perf_counter()
    sealer = _Sealer({row["applicant_id"] for row in apps} | {b[4].id for b in batch.appointments})
    writer = BulkWriter(now=timezone.now())
    with transaction.atomic():
        writer.insert(Application, [f.name for f in _APP_FIELDS], _application_tuples(apps, writer, sealer, numbers))
        writer.insert(ApplicationEvent, ("id", "application", "action", "from_status", "to_status", "actor",
                                         "actor_label", "note", "missing", "at"), _event_tuples(batch.events, writer))
        writer.insert(Appointment, _BOOKING_FIELDS, _booking_tuples(batch.appointments, writer, sealer))
        _reserve(numbers | queues)
        writer.reset_sequences([Application, ApplicationEvent, Appointment])
        audit_record(actor=actor, action="demo.hall_history", target_type="catalogue.application",
                     fields=["catalogue.application", "catalogue.applicationevent", "catalogue.appointment"],
                     reason=f"seed={seed} days={days} applications={len(apps)} appointments={len(batch.appointments)}")
    report.timings["write"] = time.perf_counter() - written
    report.applications, report.events, report.appointments = len(apps), len(batch.events), len(batch.appointments)
    # Open applications past their deadline: the real sweep marks them, with its audit entries.
    report.overdue_marked = application_overdue_sweep(now=now)
    say(f"service halls: {report.applications:,} applications, {report.appointments:,} appointments")
    return report


def _event_tuples(events: list[tuple[Any, ...]], writer: BulkWriter) -> Iterator[tuple[Any, ...]]:
    adapt = writer.datetime_adapter()
    for event_id, app_id, action, before, after, actor_id, label, note, missing, at in events:
        yield (event_id, app_id, action, before, after, actor_id, label, note,
               json.dumps(missing, ensure_ascii=False), adapt(at) if adapt else at)


_BOOKING_FIELDS: Final = ("id", "created_at", "updated_at", "window", "slot_start", "seat", "person", "name",
                          "phone_enc", "phone_bidx", "phone_masked", "item", "status", "number", "queue_day",
                          "booked_by", "checked_in_at", "served_at", "cancelled_at")


def _booking_tuples(bookings: list[tuple[Any, ...]], writer: BulkWriter, sealer: _Sealer) -> Iterator[tuple[Any, ...]]:
    adapt = writer.datetime_adapter()

    def stamp(value: datetime | None) -> Any:
        return adapt(value) if adapt is not None and value is not None else value

    for booking_id, window_id, slot, seat, person, status, number, checked, served, cancelled, item_id in bookings:
        _id_number, phone = sealer.plain(person.id)
        booked = slot - timedelta(days=1 + (booking_id % 6))
        yield (booking_id, stamp(booked), stamp(served or checked or cancelled or booked), window_id, stamp(slot), seat,
               person.id, person.name, pii.encrypt(phone, field="appointment.phone") if phone else "",
               pii.blind_index(phone, field="appointment.phone") if phone else "", pii.mask_phone(phone) if phone else "",
               item_id, status, number, slot.astimezone(SHANGHAI).date().isoformat() if number else None, None,
               stamp(checked), stamp(served), stamp(cancelled))


def _reserve(counters: dict[str, int]) -> None:
    """Counters continue after the history (live numbers never repeat a seeded one)."""
    existing = dict(NumberSequence.objects.filter(key__in=list(counters)).values_list("key", "value"))
    NumberSequence.objects.bulk_create(
        [NumberSequence(key=k, value=v) for k, v in counters.items() if k not in existing], batch_size=500)
    for key, value in counters.items():
        if key in existing and existing[key] < value:
            NumberSequence.objects.filter(key=key).update(value=value)
