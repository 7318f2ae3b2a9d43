"""Service windows and appointments: booking a seat of a slot (capacity holds under
concurrency), changing, cancelling, checking in (queue numbers) and serving."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, time
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Permission, Role
from linli.accounts.models import User
from linli.accounts.selectors import scope_for
from linli.catalogue.choices import AppointmentStatus, CatalogueErrorCode
from linli.catalogue.models import Appointment, ServiceItem, ServiceWindow
from linli.catalogue.selectors import window_slot_starts
from linli.catalogue.services.shared import _STAFF_ROLES, _next_value, _user
from linli.core import pii
from linli.core.actors import Actor, SystemActor
from linli.core.calendar import SHANGHAI
from linli.core.errors import (
    ApplicationError,
    ErrorCode,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from linli.core.services import audit_record
from linli.geo.models import Area
from linli.registry.models import Person
from linli.registry.selectors import person_get_for_user
from linli.registry.validators import parse_phone


def _staff_in_scope(actor: Actor, community_id: int) -> bool:
    user = _user(actor)
    return user is not None and user.role in _STAFF_ROLES and community_id in scope_for(user).area_ids


def _check_slot(window: ServiceWindow, slot_start: datetime, now: datetime) -> None:
    if timezone.is_naive(slot_start):
        raise ValidationFailed("slot_start", _("预约时间须带时区"))
    local = slot_start.astimezone(SHANGHAI)
    if slot_start <= now:
        raise ApplicationError(CatalogueErrorCode.SLOT_UNAVAILABLE, _("不能预约已过去的时段"), field="slot_start")
    if local not in window_slot_starts(window=window, day=local.date()):
        raise ApplicationError(CatalogueErrorCode.SLOT_UNAVAILABLE, _("该时段不开放预约"), field="slot_start")


def _live(window: ServiceWindow, slot_start: datetime) -> Any:
    return Appointment.objects.filter(window=window, slot_start=slot_start).exclude(
        status=AppointmentStatus.CANCELLED)


def _duplicate_booking(window: ServiceWindow, slot_start: datetime, person: Person | None, phone_bidx: str) -> bool:
    if person is not None and Appointment.objects.filter(slot_start=slot_start, person=person).exclude(
            status=AppointmentStatus.CANCELLED).exists():
        return True
    return bool(phone_bidx) and _live(window, slot_start).filter(phone_bidx=phone_bidx).exists()


def _take_seat(
    *, window: ServiceWindow, slot_start: datetime, person: Person | None, phone_bidx: str,
    create: Callable[[int], Appointment],
) -> Appointment:
    """Insert with the lowest free seat; a lost race on a seat retries the next one."""
    for _attempt in range(window.capacity_per_slot + 5):
        if _duplicate_booking(window, slot_start, person, phone_bidx):
            raise ApplicationError(CatalogueErrorCode.DOUBLE_BOOKING, _("该时段已有您的预约"), field="slot_start")
        taken = set(_live(window, slot_start).values_list("seat", flat=True))
        free = [s for s in range(1, window.capacity_per_slot + 1) if s not in taken]
        if not free:
            raise ApplicationError(CatalogueErrorCode.SLOT_FULL, _("该时段已约满"), field="slot_start")
        try:
            return create(free[0])
        except IntegrityError:
            continue
    raise ApplicationError(CatalogueErrorCode.SLOT_FULL, _("该时段已约满"), field="slot_start")


def _books_for_self(actor: Actor, person: Person, bound_person: Person | None) -> bool:
    """A resident booking for the person the portal verified their account to be."""
    user = _user(actor)
    return (user is not None and user.role == Role.RESIDENT and bound_person is not None
            and bound_person.pk == person.pk)


def appointment_book(
    *,
    actor: Actor,
    window: ServiceWindow,
    slot_start: datetime,
    person: Person | None = None,
    name: str,
    phone: str,
    item: ServiceItem | None = None,
    request_id: str = "",
    bound_person: Person | None = None,
) -> Appointment:
    """Book one seat of a slot. Capacity holds under concurrency by the seat constraint.

    ``bound_person``: the registry person the portal bound a resident's account to; that
    resident may book for that person (and no other), as with ``application_submit``.
    """
    if not window.active:
        raise NotFound(_("窗口不存在"))
    if person is not None and not _books_for_self(actor, person, bound_person):
        if not _staff_in_scope(actor, window.community_id):
            raise PermissionDenied(_("只有窗口工作人员可以关联实有人口"))
        person = person_get_for_user(user=actor, person_id=person.pk)  # type: ignore[arg-type]
    name = name.strip()
    if not name:
        raise ValidationFailed("name", _("请填写姓名"))
    number = parse_phone(phone, field="phone")
    if item is not None and window.items.exists() and not window.items.filter(pk=item.pk).exists():
        raise ValidationFailed("item", _("该窗口不办理此事项"))
    _check_slot(window, slot_start, timezone.now())
    bidx = pii.blind_index(number, field="appointment.phone")

    def create(seat: int) -> Appointment:
        with transaction.atomic():
            appointment = Appointment.objects.create(
                window=window, slot_start=slot_start, seat=seat, person=person, name=name[:50],
                phone_enc=pii.encrypt(number, field="appointment.phone"), phone_bidx=bidx,
                phone_masked=pii.mask_phone(number), item=item, booked_by=_user(actor),
            )
            audit_record(actor=actor, action="catalogue.appointment.book", target_type="catalogue.appointment",
                         target_id=appointment.pk, fields=["slot_start", "name", "phone"], request_id=request_id)
            return appointment

    return _take_seat(window=window, slot_start=slot_start, person=person, phone_bidx=bidx, create=create)


def _may_manage(actor: Actor, appointment: Appointment) -> bool:
    user = _user(actor)
    return (user is not None and appointment.booked_by_id == user.pk) or _staff_in_scope(
        actor, appointment.window.community_id)


def _locked_booking(actor: Actor, appointment: Appointment) -> Appointment:
    locked = Appointment.objects.select_for_update(of=("self",)).select_related("window").get(pk=appointment.pk)
    if not _may_manage(actor, locked):
        raise NotFound(_("预约不存在"))
    if locked.status != AppointmentStatus.BOOKED:
        raise ApplicationError(CatalogueErrorCode.ILLEGAL_TRANSITION, _("该预约已%(s)s") % {
            "s": locked.get_status_display()}, field="status")
    return locked


def appointment_cancel(*, actor: Actor, appointment: Appointment, request_id: str = "") -> Appointment:
    with transaction.atomic():
        locked = _locked_booking(actor, appointment)
        locked.status = AppointmentStatus.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.save(update_fields=["status", "cancelled_at", "updated_at"])
        audit_record(actor=actor, action="catalogue.appointment.cancel", target_type="catalogue.appointment",
                     target_id=locked.pk, fields=["status"], request_id=request_id)
    return locked


def appointment_change(
    *, actor: Actor, appointment: Appointment, slot_start: datetime, request_id: str = "",
) -> Appointment:
    """Move a booking to another slot of the same window: the new seat is taken and the old
    one released in one transaction, so a full slot leaves the old booking in place."""
    window = appointment.window
    _check_slot(window, slot_start, timezone.now())
    if slot_start == appointment.slot_start:
        return appointment

    def create(seat: int) -> Appointment:
        with transaction.atomic():
            old = _locked_booking(actor, appointment)
            old.status = AppointmentStatus.CANCELLED
            old.cancelled_at = timezone.now()
            old.save(update_fields=["status", "cancelled_at", "updated_at"])
            new = Appointment.objects.create(
                window=window, slot_start=slot_start, seat=seat, person=old.person, name=old.name,
                phone_enc=old.phone_enc, phone_bidx=old.phone_bidx, phone_masked=old.phone_masked,
                item=old.item, booked_by=old.booked_by,
            )
            audit_record(actor=actor, action="catalogue.appointment.change", target_type="catalogue.appointment",
                         target_id=new.pk, fields=["slot_start"], reason=f"from #{old.pk}", request_id=request_id)
            return new

    return _take_seat(window=window, slot_start=slot_start, person=appointment.person,
                      phone_bidx=appointment.phone_bidx, create=create)


def appointment_check_in(*, actor: Actor, appointment: Appointment, request_id: str = "") -> Appointment:
    """The resident arrives: give the next queue number of the window for today."""
    with transaction.atomic():
        locked = Appointment.objects.select_for_update(of=("self",)).select_related("window").get(pk=appointment.pk)
        if not _staff_in_scope(actor, locked.window.community_id):
            raise NotFound(_("预约不存在"))
        if locked.status != AppointmentStatus.BOOKED:
            raise ApplicationError(CatalogueErrorCode.ILLEGAL_TRANSITION, _("该预约不能取号"), field="status")
        now = timezone.now()
        today = timezone.localdate(now)
        seq = _next_value(f"queue:{locked.window_id}:{today:%Y%m%d}")
        locked.status, locked.checked_in_at, locked.queue_day = AppointmentStatus.CHECKED_IN, now, today
        locked.number = f"A{seq:03d}"
        locked.save(update_fields=["status", "checked_in_at", "queue_day", "number", "updated_at"])
        audit_record(actor=actor, action="catalogue.appointment.check_in", target_type="catalogue.appointment",
                     target_id=locked.pk, fields=["status", "number"], request_id=request_id)
    return locked


def appointment_serve(*, actor: Actor, appointment: Appointment, request_id: str = "") -> Appointment:
    """The clerk calls the number and serves the resident (ends the waiting time)."""
    with transaction.atomic():
        locked = Appointment.objects.select_for_update(of=("self",)).select_related("window").get(pk=appointment.pk)
        if not _staff_in_scope(actor, locked.window.community_id):
            raise NotFound(_("预约不存在"))
        if locked.status != AppointmentStatus.CHECKED_IN:
            raise ApplicationError(CatalogueErrorCode.ILLEGAL_TRANSITION, _("请先取号"), field="status")
        locked.status, locked.served_at = AppointmentStatus.DONE, timezone.now()
        locked.save(update_fields=["status", "served_at", "updated_at"])
        audit_record(actor=actor, action="catalogue.appointment.serve", target_type="catalogue.appointment",
                     target_id=locked.pk, fields=["status"], request_id=request_id)
    return locked


def _check_window_keeper(actor: Actor, hall: Area) -> None:
    """Windows are kept by whoever may manage the rules (the district administrator) for a
    hall in their scope; system actors (seeds, the demo) may set any."""
    if isinstance(actor, SystemActor):
        return
    scope = scope_for(actor) if isinstance(actor, User) else None
    if scope is None or not scope.can(Permission.MANAGE_RULES):
        raise PermissionDenied(_("无权设置服务窗口"))
    if hall.pk not in scope.area_ids:
        raise NotFound(_("区域不存在"))


def _check_window(name: str, opening_hours: Mapping[str, Any], slot_minutes: int, capacity_per_slot: int) -> None:
    if not name.strip() or len(name.strip()) > 100:
        raise ValidationFailed("name", _("窗口名称须为1到100字"))
    _validate_hours(opening_hours)
    if not 5 <= slot_minutes <= 240:
        raise ValidationFailed("slot_minutes", _("时段长度须为5到240分钟"))
    if not 1 <= capacity_per_slot <= 100:
        raise ValidationFailed("capacity_per_slot", _("每时段名额须为1到100"))


def window_create(
    *, actor: Actor, code: str, name: str, community: Area, opening_hours: Mapping[str, Any],
    slot_minutes: int = 30, capacity_per_slot: int = 2, items: Sequence[ServiceItem] = (), request_id: str = "",
) -> ServiceWindow:
    """A service window of a community or street hall (the district administrator)."""
    _check_window_keeper(actor, community)
    code = code.strip()
    if not code or len(code) > 40:
        raise ValidationFailed("code", _("窗口编码须为1到40个字符"))
    _check_window(name, opening_hours, slot_minutes, capacity_per_slot)
    with transaction.atomic():
        if ServiceWindow.objects.filter(code=code).exists():
            raise ValidationFailed("code", _("窗口编码已存在"), code=ErrorCode.CONFLICT)
        window = ServiceWindow.objects.create(
            code=code, name=name.strip(), community=community, opening_hours=dict(opening_hours),
            slot_minutes=slot_minutes, capacity_per_slot=capacity_per_slot,
        )
        window.items.set(items)
        audit_record(actor=actor, action="catalogue.window.create", target_type="catalogue.window",
                     target_id=window.pk, fields=["code", "opening_hours", "capacity_per_slot"],
                     request_id=request_id)
    return window


def window_update(
    *, actor: Actor, window: ServiceWindow, name: str, opening_hours: Mapping[str, Any], slot_minutes: int,
    capacity_per_slot: int, items: Sequence[ServiceItem], active: bool, request_id: str = "",
) -> ServiceWindow:
    """Change a window's name, hours, slots, items or whether it is in use. Bookings already
    made stay (a closed slot's bookings are honoured or cancelled by the hall's staff)."""
    _check_window_keeper(actor, window.community)
    _check_window(name, opening_hours, slot_minutes, capacity_per_slot)
    with transaction.atomic():
        locked = ServiceWindow.objects.select_for_update().get(pk=window.pk)
        values = {"name": name.strip(), "opening_hours": dict(opening_hours), "slot_minutes": slot_minutes,
                  "capacity_per_slot": capacity_per_slot, "active": active}
        changed = [key for key, value in values.items() if getattr(locked, key) != value]
        for key in changed:
            setattr(locked, key, values[key])
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
        if {i.pk for i in items} != set(locked.items.values_list("pk", flat=True)):
            locked.items.set(items)
            changed.append("items")
        if changed:
            audit_record(actor=actor, action="catalogue.window.update", target_type="catalogue.window",
                         target_id=locked.pk, fields=changed, request_id=request_id)
    return locked


def _validate_hours(hours: Mapping[str, Any]) -> None:
    for day, periods in hours.items():
        if day not in {"1", "2", "3", "4", "5", "6", "7"} or not isinstance(periods, list):
            raise ValidationFailed("opening_hours", _("开放时间格式无效"))
        for period in periods:
            try:
                start, end = (time.fromisoformat(p) for p in period)
            except (TypeError, ValueError):
                raise ValidationFailed("opening_hours", _("开放时间格式无效")) from None
            if start >= end:
                raise ValidationFailed("opening_hours", _("开放时间段须先开始后结束"))
