"""Reads of the phone app: today's work from the other apps' own scoped selectors, the
person, household and room behind each item, nearest building, patrols.

Every list starts from a ``*_for_user`` selector of the app that owns the data, so the
scope rules stay there: another grid's worker gets nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment, User
from linli.accounts.selectors import area_get_for_user, scope_for
from linli.care import selectors as care_selectors
from linli.cases import selectors as case_selectors
from linli.cases.models import Case
from linli.cockpit import selectors as cockpit_selectors
from linli.core.calendar import SHANGHAI
from linli.core.errors import NotFound
from linli.devices import selectors as device_selectors
from linli.field import workflow
from linli.field.choices import CorrectionStatus
from linli.field.models import Correction, Patrol, Submission
from linli.fusion import selectors as fusion_selectors
from linli.fusion.choices import ConflictField
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.registry import selectors as registry_selectors
from linli.registry.models import Building, Household, Person, Room

FIELD_ROLES = frozenset({Role.GRID_WORKER})
CLERK_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF})


@dataclass(frozen=True)
class TodayItem:
    """One line of today's list: what, where, by when, and the phone page that opens it."""

    kind: str
    pk: int
    title: str
    detail: str
    where: str
    url: str
    urgency: workflow.Urgency
    person_ids: tuple[int, ...] = ()
    badge: str = ""


@dataclass
class Today:
    items: list[TodayItem] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        """Every page the phone should keep for offline use: items and the people in them."""
        seen: dict[str, None] = {}
        for item in self.items:
            seen[item.url] = None
            for pk in item.person_ids:
                seen[reverse("field:person", args=[pk])] = None
        return list(seen)


def field_label(name: str) -> str:
    """A verification task's field in words."""
    return str(ConflictField(name).label) if name in ConflictField.values else name


def _midnight(day: Any) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=SHANGHAI)


def where_of(*, building: Building | None, room: Room | None = None, fallback: str = "") -> str:
    """The way there in words: address, then unit and room."""
    if room is not None:
        building = room.building
        return f"{building.address} {room.unit.number}单元 {room.number}室"
    if building is not None:
        return building.address
    return fallback


def person_where(person: Person) -> str:
    return where_of(building=person.building, room=person.room)


def today_for_user(*, user: User) -> Today:
    """Everything due for the worker, most urgent first."""
    if user.role not in FIELD_ROLES:
        return Today()
    items: list[TodayItem] = []
    items.extend(
        TodayItem(
            "check",
            task.incident_id,
            _("应急核查：%(t)s") % {"t": task.incident.title},
            _("%(n)s户待核查") % {"n": task.households},
            "",
            reverse("field:incident", args=[task.incident_id]),
            workflow.Urgency(workflow.TIER_EMERGENCY, task.incident.started_at, task.pk),
            badge=_("应急"),
        )
        for task in cockpit_selectors.tasks_for_worker(user=user)
    )
    items.extend(
        TodayItem(
            "alarm",
            alarm.pk,
            alarm.summary,
            alarm.get_kind_display(),
            where_of(building=alarm.device.building, room=alarm.device.room),
            reverse("field:alarm", args=[alarm.pk]),
            workflow.Urgency(workflow.TIER_ALARM, alarm.raised_at, alarm.pk),
            (alarm.device.person_id,) if alarm.device.person_id else (),
            badge=_("报警"),
        )
        for alarm in device_selectors.alarm_list_for_user(user=user).select_related(
            "device__building", "device__room__unit", "device__room__building"
        )[:50]
    )
    items.extend(
        TodayItem(
            "case",
            case.pk,
            f"{case.number} {case.category.name}",
            case.get_status_display(),
            case.address,
            reverse("field:case", args=[case.pk]),
            workflow.Urgency(
                workflow.TIER_CASE_SUPERVISED if case.supervision_level else workflow.TIER_CASE,
                case.stage_due_at,
                case.pk,
            ),
            badge=_("事件"),
        )
        for case in case_selectors.case_inbox_for_user(user=user, limit=50)
    )
    care = care_selectors.today_for_user(user=user)
    today = timezone.localdate()
    items.extend(
        TodayItem(
            "visit",
            due.pk,
            _("走访：%(n)s") % {"n": due.person.name},
            due.reason,
            person_where(due.person),
            reverse("field:visit", args=[due.person_id]),
            workflow.Urgency(
                workflow.TIER_VISIT_OVERDUE
                if due.overdue or due.due_on < today
                else workflow.TIER_VISIT,
                _midnight(due.due_on),
                due.pk,
            ),
            (due.person_id,),
            badge=_("走访"),
        )
        for due in care.due_visits
    )
    items.extend(
        TodayItem(
            "work_order",
            order.pk,
            _("工单：%(n)s") % {"n": order.person.name},
            order.reason,
            "",
            reverse("field:person", args=[order.person_id]),
            workflow.Urgency(workflow.TIER_WORK_ORDER, _midnight(order.due_on), order.pk),
            (order.person_id,),
            badge=_("工单"),
        )
        for order in care.work_orders
    )
    tasks = fusion_selectors.verification_tasks_in_walk_order(
        fusion_selectors.verification_tasks_for_user(user=user), status="open"
    )
    items.extend(
        TodayItem(
            "verify",
            task.pk,
            _("核实：%(n)s") % {"n": task.person.name},
            field_label(task.field),
            person_where(task.person),
            reverse("field:verify", args=[task.pk]),
            workflow.Urgency(workflow.TIER_VERIFY, None, rank),
            (task.person_id,),
            badge=_("核实"),
        )
        for rank, task in enumerate(
            tasks.select_related(
                "person__room__unit", "person__room__building", "person__building"
            )[:50]
        )
    )
    items.sort(key=lambda item: item.urgency.key())
    return Today(items)


def case_for_worker(*, user: User, case_id: int) -> Case:
    if user.role not in FIELD_ROLES:
        raise NotFound()
    return case_selectors.case_get_for_user(user=user, case_id=case_id)


def case_actions(*, user: User, case: Case) -> list[str]:
    # The phone offers the worker's own steps; the rest stays on the workbench.
    offered = ("accept", "report_back", "handle_on_spot", "verify_pass", "verify_fail")
    return [a for a in case_selectors.case_actions_for_user(user=user, case=case) if a in offered]


@dataclass(frozen=True)
class PersonCard:
    person: Person
    where: str
    household: Household | None
    members: list[Person]
    hidden_members: int
    tags: list[Any]


def person_card_for_user(*, user: User, person_id: int) -> PersonCard:
    """The person masked as the registry shows them, with the household's visible members."""
    if user.role not in FIELD_ROLES:
        raise NotFound()
    person = registry_selectors.person_get_for_user(user=user, person_id=person_id)
    members: list[Person] = []
    hidden = 0
    household = person.household
    if household is not None:
        view = registry_selectors.household_view_for_user(user=user, household_id=household.pk)
        members, hidden = list(view.members), view.others
    tags = registry_selectors.person_tags_active(person=person)
    return PersonCard(person, person_where(person), household, members, hidden, tags)


def room_for_worker(*, user: User, room_id: int) -> Room:
    if user.role not in FIELD_ROLES:
        raise NotFound()
    return registry_selectors.room_get_for_user(user=user, room_id=room_id)


def household_for_worker(*, user: User, household_id: int) -> Household:
    if user.role not in FIELD_ROLES:
        raise NotFound()
    return registry_selectors.household_get_for_user(user=user, household_id=household_id)


def nearest_building(
    *, user: User, lon: float, lat: float, within_m: float = 300
) -> Building | None:
    """The worker's building closest to a position (the report's address), if near enough."""
    grids = sorted(scope_for(user).grid_ids)
    if not grids:
        return None
    span = 0.01  # about a kilometre: a box first, the exact distance on the few inside it
    rows = Building.objects.filter(
        grid_id__in=grids, lon__range=(lon - span, lon + span), lat__range=(lat - span, lat + span)
    ).only("id", "address", "lon", "lat", "grid_id")
    best: tuple[float, Building] | None = None
    for building in rows[:2000]:
        d = workflow.haversine_m(lon, lat, building.lon, building.lat)
        if best is None or d < best[0]:
            best = (d, building)
    return best[1] if best is not None and best[0] <= within_m else None


def submission_get(*, user: User, key: str) -> Submission | None:
    return Submission.objects.filter(key=key, user=user).first()


def correction_list_for_user(
    *, user: User, status: str = CorrectionStatus.OPEN
) -> list[Correction]:
    """Corrections for the clerk (community / street staff) of the grids in their scope."""
    if user.role not in CLERK_ROLES:
        return []
    grids = sorted(scope_for(user).grid_ids)
    return list(
        Correction.objects.filter(grid_id__in=grids, status=status)
        .select_related("requested_by", "grid")
        .order_by("created_at", "id")[:200]
    )


def correction_get_for_user(*, user: User, correction_id: int) -> Correction:
    if user.role not in CLERK_ROLES:
        raise NotFound()
    found = Correction.objects.filter(
        pk=correction_id, grid_id__in=sorted(scope_for(user).grid_ids)
    ).first()
    if found is None:
        raise NotFound()
    return found


# Who sees patrols: the worker his own; staff who lead grid workers those of their grids.
# Department staff and auditors have no business with workers' whereabouts.
PATROL_VIEWER_ROLES = frozenset(
    {Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN}
)
# A map of tracks stops here: a week of a street's workers fits well under it.
MAX_TRACKS = 500


def _patrols_for_user(user: User) -> QuerySet[Patrol]:
    if user.role in FIELD_ROLES:
        return Patrol.objects.filter(worker=user)
    if user.role not in PATROL_VIEWER_ROLES:
        return Patrol.objects.none()
    return Patrol.objects.filter(grid_id__in=sorted(scope_for(user).grid_ids))


def patrol_list_for_user(*, user: User, limit: int = 20) -> list[Patrol]:
    """The worker's own patrols; staff see those of the grids in their scope."""
    rows = _patrols_for_user(user)
    return list(rows.select_related("worker").order_by("-started_at")[:limit])


def patrol_get_for_user(*, user: User, patrol_id: int) -> Patrol:
    for patrol in _patrols_for_user(user).filter(pk=patrol_id).select_related("worker"):
        return patrol
    raise NotFound()


def patrol_tracks_for_user(
    *, user: User, since: datetime, until: datetime | None = None, area_id: int | None = None
) -> list[Patrol]:
    """Patrols with their tracks for a map, newest first: the worker's own, or those of the
    grids in the caller's scope, optionally inside one area (outside the scope: NotFound)."""
    rows = _patrols_for_user(user).filter(started_at__gte=since)
    if until is not None:
        rows = rows.filter(started_at__lt=until)
    if area_id is not None:
        area = area_get_for_user(user=user, area_id=area_id)
        grids = Area.objects.filter(path__startswith=area.path, level=AreaLevel.GRID)
        rows = rows.filter(grid_id__in=grids.values("pk"))
    return list(
        rows.select_related("worker", "grid")
        .only(
            "worker__display_name",
            "worker__username",
            "grid__name",
            "started_at",
            "ended_at",
            "track",
            "distance_m",
        )
        .order_by("-started_at")[:MAX_TRACKS]
    )


@dataclass(frozen=True)
class PatrolTotal:
    worker: str
    patrols: int
    seconds: int
    distance_m: float
    # Buildings of the worker's grids, and how many a track of the period passed within
    # workflow.COVERAGE_RADIUS_M of.
    buildings: int = 0
    covered: int = 0

    @property
    def coverage(self) -> float | None:
        return workflow.coverage_share(self.covered, self.buildings)


def _worker_grids(user_ids: list[int], visible: frozenset[int]) -> dict[int, list[int]]:
    """Each worker's own grids (A角; where he has none, every grid he is assigned to), within
    what the caller may see."""
    primary: dict[int, list[int]] = {}
    assigned: dict[int, list[int]] = {}
    rows = AreaAssignment.objects.filter(
        user_id__in=user_ids, area__level=AreaLevel.GRID
    ).values_list("user_id", "area_id", "kind")
    for user_id, grid_id, kind in rows:
        if grid_id not in visible:
            continue
        assigned.setdefault(user_id, []).append(grid_id)
        if kind == AssignmentKind.PRIMARY:
            primary.setdefault(user_id, []).append(grid_id)
    return {pk: primary.get(pk) or assigned.get(pk, []) for pk in user_ids}


def own_grid_ids(*, worker: User) -> list[int]:
    """The grids a patrol of ``worker`` belongs to: his A角 grids, else all he is assigned to."""
    return sorted(_worker_grids([worker.pk], scope_for(worker).grid_ids)[worker.pk])


def patrol_totals_for_user(*, user: User, since: datetime) -> list[PatrolTotal]:
    """Patrol time, distance and coverage per worker since a moment, over the grids in scope."""
    rows = _patrols_for_user(user).filter(started_at__gte=since)
    totals: dict[int, list[Any]] = {}
    for worker_id, name, login, started, ended, distance in rows.values_list(
        "worker_id",
        "worker__display_name",
        "worker__username",
        "started_at",
        "ended_at",
        "distance_m",
    ):
        entry = totals.setdefault(worker_id, [name or login, 0, 0, 0.0])
        entry[1] += 1
        entry[2] += max(0, int((ended - started).total_seconds()))
        entry[3] += distance
    worker_ids = sorted(totals)
    grids_of = _worker_grids(worker_ids, scope_for(user).grid_ids)
    buildings: dict[int, list[tuple[float, float]]] = {}
    for grid_id, lon, lat in Building.objects.filter(
        grid_id__in=sorted({g for grids in grids_of.values() for g in grids})
    ).values_list("grid_id", "lon", "lat"):
        buildings.setdefault(grid_id, []).append((lon, lat))
    # One worker's tracks at a time: a month of a district's tracks never sits in memory at once.
    result: list[PatrolTotal] = []
    for worker_id in worker_ids:
        name, count, seconds, distance = totals[worker_id]
        places = [b for grid_id in grids_of[worker_id] for b in buildings.get(grid_id, [])]
        covered = 0
        if places:
            points: list[list[float]] = []
            for track in rows.filter(worker_id=worker_id).values_list("track", flat=True):
                points.extend(track)
            covered = workflow.buildings_covered(places, points)
        result.append(PatrolTotal(name, count, seconds, float(distance), len(places), covered))
    return sorted(result, key=lambda t: t.worker)
