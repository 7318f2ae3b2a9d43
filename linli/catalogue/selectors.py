"""Reads of the catalogue, always scoped.

Who sees which application:

* community / street staff and district admins: applications of communities in their scope;
* department staff: applications of items of *their* department that have been forwarded,
  within their areas;
* residents: the applications they submitted themselves;
* anyone else (grid workers, auditors, API keys): nothing.

Out-of-scope objects raise :class:`NotFound`, so existence never leaks. The catalogue
itself (items, windows, slots) is public information.
"""

from __future__ import annotations

from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.accounts.choices import Role
from linli.accounts.models import Department, User
from linli.accounts.selectors import Principal, scope_for
from linli.catalogue.choices import (
    OPEN_STATUSES,
    ApplicationAction,
    ApplicationStatus,
    AppointmentStatus,
    Decision,
    ItemKind,
)
from linli.catalogue.models import (
    Application,
    ApplicationEvent,
    ApplicationFile,
    Appointment,
    ServiceItem,
    ServiceItemVersion,
    ServiceWindow,
)
from linli.catalogue.uploads import open_stored
from linli.core.bulk import Among
from linli.core.calendar import SHANGHAI, is_working_day, working_days_between
from linli.core.errors import NotFound

_AREA_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN})


# --- catalogue ------------------------------------------------------------------------------


def item_list(*, active: bool | None = True) -> QuerySet[ServiceItem]:
    """Items with their current version, by code; ``active=None`` lists all."""
    items = ServiceItem.objects.select_related("current_version", "department").order_by("code")
    return items if active is None else items.filter(active=active)


# What a card of the catalogue index shows (``catalogue/_item_card.html`` without materials):
# the whole version would decode its form, steps and materials JSON for each of the ~180
# items, a third of the page's server time, to show one number.
CARD_FIELDS = ("code", "name", "kind", "level", "active", "department_id", "department__name",
               "current_version_id", "current_version__time_limit_days")


def item_cards(*, active: bool | None = True) -> QuerySet[ServiceItem]:
    """:func:`item_list` with only the fields an index card shows."""
    return item_list(active=active).only(*CARD_FIELDS)


def item_departments() -> list[Department]:
    """The departments that have active items, by name (the catalogue's department filter)."""
    return list(Department.objects.filter(service_items__active=True).distinct().order_by("name"))


def item_get(*, item_id: int | None = None, code: str | None = None, active_only: bool = True) -> ServiceItem:
    items = ServiceItem.objects.select_related("current_version", "department")
    if active_only:
        items = items.filter(active=True)
    item = items.filter(pk=item_id).first() if item_id is not None else items.filter(code=code).first()
    if item is None:
        raise NotFound(_("事项不存在"))
    return item


def item_versions(*, item: ServiceItem) -> list[ServiceItemVersion]:
    return list(item.versions.order_by("-version"))


# --- applications ---------------------------------------------------------------------------


def _applications_for(user: Principal | None) -> QuerySet[Application]:
    base = Application.objects.select_related("item_version__item__department", "community")
    if not isinstance(user, User) or not user.is_active:
        return base.none()
    if user.role == Role.RESIDENT:
        return base.filter(submitted_by=user)
    scope = scope_for(user)
    if not scope.area_ids:
        return base.none()
    in_area = base.filter(Among("community_id", scope.area_ids))
    if user.role in _AREA_ROLES:
        return in_area.exclude(~Q(submitted_by=user) & Q(status=ApplicationStatus.DRAFT))
    if user.role == Role.DEPARTMENT_STAFF and user.department_id is not None:
        forwarded = ApplicationEvent.objects.filter(application=OuterRef("pk"), action=ApplicationAction.FORWARD)
        return in_area.filter(Exists(forwarded), item_version__item__department_id=user.department_id)
    return base.none()


def application_visible_to(*, user: Principal | None, application_id: int) -> bool:
    return _applications_for(user).filter(pk=application_id).exists()


def application_list_for_user(
    *, user: Principal | None, filters: dict[str, Any] | None = None,
) -> QuerySet[Application]:
    """Scoped applications, newest first. Filters: ``status`` (one or a list), ``item``
    (item id), ``department`` (department id), ``community`` (area id), ``overdue`` (bool), ``q`` (number or
    applicant name prefix), ``open`` (bool)."""
    filters = filters or {}
    rows = _applications_for(user)
    status = filters.get("status")
    if status:
        rows = rows.filter(status__in=[status] if isinstance(status, str) else list(status))
    if filters.get("item"):
        rows = rows.filter(item_version__item_id=filters["item"])
    if filters.get("department"):
        rows = rows.filter(item_version__item__department_id=filters["department"])
    if filters.get("community"):
        rows = rows.filter(community_id=filters["community"])
    if filters.get("open"):
        rows = rows.filter(status__in=sorted(OPEN_STATUSES))
    if filters.get("overdue"):
        rows = rows.filter(overdue_filter(timezone.now()))
    query = str(filters.get("q") or "").strip()
    if query:
        rows = rows.filter(Q(number__iexact=query) | Q(applicant_name__startswith=query))
    return rows.order_by("-created_at", "-id")


def overdue_filter(now: datetime) -> Q:
    """Open applications whose running clock is past ``due_at`` (or already marked overdue)."""
    running_late = Q(due_at__lt=now, paused_at__isnull=True)
    return Q(status__in=sorted(OPEN_STATUSES)) & (running_late | Q(overdue_at__isnull=False))


def application_get_for_user(*, user: Principal | None, application_id: int) -> Application:
    app = (_applications_for(user).select_related("applicant", "submitted_by")
           .filter(pk=application_id).first())
    if app is None:
        raise NotFound(_("申请不存在"))
    return app


def application_timeline(*, application: Application) -> list[ApplicationEvent]:
    """Every step, oldest first (the caller has already been allowed to see it)."""
    return list(application.events.select_related("actor").order_by("at", "id"))


@dataclass(frozen=True)
class CorrectionRequest:
    """What the clerk asked of a returned application (补正): the list, their note, when."""

    missing: list[str]
    note: str
    at: datetime


def application_correction_request(*, application: Application) -> CorrectionRequest | None:
    """The latest return for correction while the application waits for it, else ``None``
    (the caller has already been allowed to see the application)."""
    if application.status != ApplicationStatus.RETURNED:
        return None
    event = (application.events.filter(action=ApplicationAction.RETURN_FOR_CORRECTION)
             .order_by("-at", "-id").first())
    if event is None:
        return None
    return CorrectionRequest(missing=[str(m) for m in event.missing], note=event.note, at=event.at)


@dataclass(frozen=True)
class DecisionDocument:
    """The decision in the words of a decision notice (准予/不予办理决定书); the caller has
    already been allowed to see the application. Personal values only masked."""

    number: str
    approved: bool
    item_name: str
    item_code: str
    department: str
    community: str
    applicant_name: str
    applicant_id_masked: str
    submitted_at: datetime | None
    decided_at: datetime | None
    reason: str
    legal_basis: str
    conditions: list[str]
    by_rule: bool


def application_decision_document(*, application: Application) -> DecisionDocument:
    """The decision document of a decided application; an undecided one has none (NotFound)."""
    if application.decision not in (Decision.APPROVED, Decision.REJECTED):
        raise NotFound(_("尚未作出决定"))
    version = application.item_version
    item = version.item
    rule = application.rule_result or {}
    last = application.events.filter(action__in=[ApplicationAction.APPROVE, ApplicationAction.REJECT,
                                                 ApplicationAction.INSTANT_DECIDE]).order_by("-at", "-id").first()
    return DecisionDocument(
        number=f"{application.number}-JD", approved=application.decision == Decision.APPROVED,
        item_name=item.name, item_code=item.code, department=str(item.department),
        community=application.community.name, applicant_name=application.applicant_name,
        applicant_id_masked=application.applicant_id_masked, submitted_at=application.submitted_at,
        decided_at=application.decided_at, reason=application.decision_reason or (last.note if last else ""),
        legal_basis=version.legal_basis,
        conditions=[str(r.get("message", "")) for r in rule.get("results", []) if isinstance(r, dict)],
        by_rule=last is not None and last.action == ApplicationAction.INSTANT_DECIDE,
    )


def window_list_for_areas(*, area_ids: list[int], item_id: int | None = None) -> QuerySet[ServiceWindow]:
    """Windows in use of the halls of these areas that take ``item_id`` (a window with no
    item list takes any item), by code."""
    windows = ServiceWindow.objects.filter(active=True, community_id__in=area_ids).select_related("community")
    if item_id is not None:
        windows = windows.filter(Q(items__pk=item_id) | Q(items__isnull=True)).distinct()
    return windows.order_by("code")


def application_files(*, application: Application) -> list[ApplicationFile]:
    return list(application.files.order_by("material_code", "id"))


def application_file_open_for_user(*, user: Principal | None, file_id: int) -> tuple[ApplicationFile, Any]:
    """A stored material and an open binary handle, only for people who may see the
    application; anyone else gets NotFound."""
    row = ApplicationFile.objects.select_related("application").filter(pk=file_id).first()
    if row is None or not application_visible_to(user=user, application_id=row.application_id):
        raise NotFound(_("文件不存在"))
    try:
        handle = open_stored(row.file.name)
    except FileNotFoundError:
        raise NotFound(_("文件不存在")) from None
    return row, handle


# --- windows and appointments ---------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One bookable slot of a window and how many of its seats are taken."""

    start: datetime
    capacity: int
    booked: int

    @property
    def available(self) -> int:
        return max(self.capacity - self.booked, 0)


def window_list(*, community_id: int | None = None, item_id: int | None = None) -> QuerySet[ServiceWindow]:
    windows = ServiceWindow.objects.filter(active=True).select_related("community").order_by("code")
    if community_id is not None:
        windows = windows.filter(community_id=community_id)
    if item_id is not None:
        windows = windows.filter(items__pk=item_id).distinct()
    return windows


# Who sees the halls' windows on the administration page: the district administrator (who
# keeps them) and street staff (their street's, to read).
WINDOW_ADMIN_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF})


def window_list_for_user(*, user: Principal | None) -> QuerySet[ServiceWindow]:
    """Every window (in use or not) of the halls in the user's scope, by code."""
    if not isinstance(user, User) or not user.is_active or user.role not in WINDOW_ADMIN_ROLES:
        return ServiceWindow.objects.none()
    return (ServiceWindow.objects.filter(community_id__in=sorted(scope_for(user).area_ids))
            .select_related("community").prefetch_related("items").order_by("code"))


def window_get_for_user(*, user: Principal | None, window_id: int) -> ServiceWindow:
    window = window_list_for_user(user=user).filter(pk=window_id).first()
    if window is None:
        raise NotFound(_("窗口不存在"))
    return window


def window_get(*, window_id: int) -> ServiceWindow:
    window = ServiceWindow.objects.filter(pk=window_id, active=True).select_related("community").first()
    if window is None:
        raise NotFound(_("窗口不存在"))
    return window


def window_slot_starts(*, window: ServiceWindow, day: date) -> list[datetime]:
    """Slot starts (Shanghai time) of a day: none on weekends/holidays or closed weekdays."""
    if not is_working_day(day):
        return []
    starts: list[datetime] = []
    step = timedelta(minutes=window.slot_minutes)
    for period in window.opening_hours.get(str(day.isoweekday()), []):
        opening = datetime.combine(day, time.fromisoformat(period[0]), tzinfo=SHANGHAI)
        closing = datetime.combine(day, time.fromisoformat(period[1]), tzinfo=SHANGHAI)
        current = opening
        while current + step <= closing:
            starts.append(current)
            current += step
    return starts


def window_slots(*, window: ServiceWindow, day: date) -> list[Slot]:
    starts = window_slot_starts(window=window, day=day)
    if not starts:
        return []
    counts = dict(
        Appointment.objects.filter(window=window, slot_start__in=starts)
        .exclude(status=AppointmentStatus.CANCELLED)
        .values_list("slot_start").annotate(n=Count("id")).values_list("slot_start", "n")
    )
    return [Slot(start=s, capacity=window.capacity_per_slot, booked=counts.get(s, 0)) for s in starts]


def _window_for_staff(user: Principal | None, window: ServiceWindow) -> None:
    if not isinstance(user, User) or user.role not in _AREA_ROLES or (
        window.community_id not in scope_for(user).area_ids
    ):
        raise NotFound(_("窗口不存在"))


def daily_queue(*, user: Principal | None, window: ServiceWindow, day: date) -> list[Appointment]:
    """The day's bookings of a window for its staff: checked-in by queue number, then the
    rest by slot."""
    _window_for_staff(user, window)
    start = datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI)
    rows = list(
        Appointment.objects.filter(window=window, slot_start__gte=start, slot_start__lt=start + timedelta(days=1))
        .exclude(status=AppointmentStatus.CANCELLED).select_related("item")
    )
    return sorted(rows, key=lambda a: (a.number == "", a.number, a.slot_start, a.seat))


def appointment_list_for_user(*, user: Principal | None) -> QuerySet[Appointment]:
    """A resident's own bookings; staff see the bookings of windows in their scope."""
    rows = Appointment.objects.select_related("window", "item").order_by("-slot_start")
    if not isinstance(user, User) or not user.is_active:
        return rows.none()
    if user.role == Role.RESIDENT:
        return rows.filter(booked_by=user)
    if user.role in _AREA_ROLES:
        return rows.filter(window__community_id__in=sorted(scope_for(user).area_ids))
    return rows.none()


def appointment_get_for_user(*, user: Principal | None, appointment_id: int) -> Appointment:
    row = appointment_list_for_user(user=user).filter(pk=appointment_id).first()
    if row is None:
        raise NotFound(_("预约不存在"))
    return row


# --- hall statistics ------------------------------------------------------------------------


@dataclass
class HallStatistics:
    """Figures of the service hall for a period (submitted between ``start`` and ``end``)."""

    start: date
    end: date
    total: int = 0
    by_item: list[tuple[str, int]] = field(default_factory=list)
    by_department: list[tuple[str, int]] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)
    instant_total: int = 0
    instant_approved: int = 0
    decided: int = 0
    average_processing_days: float | None = None
    overdue: int = 0
    by_hour: dict[int, int] = field(default_factory=dict)
    by_weekday: dict[int, int] = field(default_factory=dict)
    appointments: int = 0
    served: int = 0
    average_wait_minutes: float | None = None

    @property
    def instant_approval_rate(self) -> float | None:
        return self.instant_approved / self.instant_total if self.instant_total else None

    @property
    def peak_hour(self) -> int | None:
        return max(self.by_hour, key=lambda h: self.by_hour[h]) if self.by_hour else None

    @property
    def peak_weekday(self) -> int | None:
        return max(self.by_weekday, key=lambda d: self.by_weekday[d]) if self.by_weekday else None


def hall_statistics_for_user(*, user: Principal | None, start: date, end: date) -> HallStatistics:
    """Statistics over the user's scoped applications submitted in [start, end] (local days)
    and the appointments of windows in their scope for the same days."""
    stats = HallStatistics(start=start, end=end)
    since = datetime.combine(start, datetime.min.time(), tzinfo=SHANGHAI)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
    rows = _applications_for(user).filter(submitted_at__gte=since, submitted_at__lt=until)
    stats.total = rows.count()
    stats.by_item = list(rows.values_list("item_version__item__name").annotate(n=Count("id"))
                         .order_by("-n", "item_version__item__name").values_list("item_version__item__name", "n"))
    stats.by_department = list(rows.values_list("item_version__item__department__name").annotate(n=Count("id"))
                               .order_by("-n", "item_version__item__department__name")
                               .values_list("item_version__item__department__name", "n"))
    stats.by_status = dict(rows.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    instant = rows.filter(item_version__item__kind=ItemKind.INSTANT)
    stats.instant_total = instant.count()
    stats.instant_approved = instant.filter(
        Exists(ApplicationEvent.objects.filter(
            application=OuterRef("pk"), action=ApplicationAction.INSTANT_DECIDE, to_status=ApplicationStatus.APPROVED,
        ))
    ).count()
    stats.overdue = rows.filter(overdue_filter(timezone.now())).count()
    hours: Tally[int] = Tally()
    weekdays: Tally[int] = Tally()
    spans: list[int] = []
    for submitted, decided, paused in rows.values_list("submitted_at", "decided_at", "paused_working_days"):
        if submitted is None:
            continue
        local = submitted.astimezone(SHANGHAI)
        hours[local.hour] += 1
        weekdays[local.isoweekday()] += 1
        if decided is not None:
            days = working_days_between(local.date(), decided.astimezone(SHANGHAI).date()) - paused
            spans.append(max(days, 0))
    stats.by_hour, stats.by_weekday = dict(sorted(hours.items())), dict(sorted(weekdays.items()))
    stats.decided = len(spans)
    stats.average_processing_days = round(sum(spans) / len(spans), 2) if spans else None
    appointments = appointment_list_for_user(user=user).filter(slot_start__gte=since, slot_start__lt=until) \
        if not (isinstance(user, User) and user.role == Role.RESIDENT) else Appointment.objects.none()
    stats.appointments = appointments.exclude(status=AppointmentStatus.CANCELLED).count()
    waits = [
        (served - checked).total_seconds() / 60
        for checked, served in appointments.filter(checked_in_at__isnull=False, served_at__isnull=False)
        .values_list("checked_in_at", "served_at")
        if checked is not None and served is not None
    ]
    stats.served = len(waits)
    stats.average_wait_minutes = round(sum(waits) / len(waits), 1) if waits else None
    return stats
