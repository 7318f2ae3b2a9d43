"""Reads of the cockpit, every one scoped by the caller's areas.

``area_roster_for_user`` answers the emergency question "who lives in this area": buildings
by bounding box then exactly by point in polygon, then their households, residents and
emergency tags in four more queries, whatever the size of the area.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.access import is_staff_user
from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment, User
from linli.accounts.selectors import AreaScope, Principal, grid_workers_of, scope_for
from linli.cases.choices import OPEN_STATUSES
from linli.cases.indicators import compute
from linli.cases.models import Case, CaseEvent
from linli.cases.selectors import case_visible_to
from linli.cases.stats import case_figures_for_user
from linli.cases.workflow import REGRADE_EVENT
from linli.catalogue.selectors import application_list_for_user
from linli.cockpit import workflow
from linli.cockpit.choices import CheckState
from linli.cockpit.models import Incident, IncidentHousehold, IncidentTask
from linli.core.bulk import Among, array_literal
from linli.core.errors import NotFound, ValidationFailed
from linli.devices.choices import AlarmKind
from linli.devices.models import Alarm
from linli.devices.selectors import alarm_grids_for_user, alarm_list_for_user
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.registry.choices import TagKind
from linli.registry.map_selectors import building_label
from linli.registry.models import Building, Household, Person, PersonTag
from linli.registry.selectors import registry_counts_for_user, registry_scope
from linli.registry.services.digests import SCREEN_COLUMNS as SCREEN_COLUMNS
from linli.registry.services.digests import SCREEN_MEMBER_COLUMNS as SCREEN_MEMBER_COLUMNS
from linli.registry.services.digests import Digest, building_digests, building_digests_in_box

# Roles that run an emergency from the command centre (others only check households).
OPERATOR_ROLES: frozenset[str] = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN})
MAX_PICKED_BUILDINGS = 500


@dataclass
class RosterMember:
    person_id: int
    name: str
    phone_masked: str
    birth_date: date | None
    kinds: list[str]


@dataclass
class RosterHousehold:
    household_id: int
    number: str
    room_number: str
    floor: int
    unit_number: int
    building_id: int
    grid_id: int
    address: str = ""
    members: list[RosterMember] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    priority: int = workflow.NOT_VULNERABLE

    @property
    def vulnerable(self) -> bool:
        return self.priority < workflow.NOT_VULNERABLE


@dataclass
class RosterUnit:
    number: int
    households: list[RosterHousehold] = field(default_factory=list)


@dataclass
class RosterBuilding:
    building_id: int
    address: str
    name: str
    lon: float
    lat: float
    grid_id: int
    worker: User | None
    units: list[RosterUnit] = field(default_factory=list)
    households: int = 0
    residents: int = 0
    vulnerable: int = 0


@dataclass
class Roster:
    """Every household in the area: the vulnerable first, then building → unit → room."""

    ring: list[workflow.Point]
    buildings: list[RosterBuilding]
    vulnerable: list[RosterHousehold]
    households: list[RosterHousehold]
    residents: int
    workers: dict[int, User]


@dataclass(frozen=True)
class AreaBuilding:
    pk: int
    address: str
    name: str
    lon: float
    lat: float
    grid_id: int


def _buildings_in(grid_ids: Sequence[int], ring: workflow.Ring | None, building_ids: Sequence[int] | None
                  ) -> list[AreaBuilding]:
    """Buildings of the caller's grids inside the ring (or picked), ordered by address.

    The box goes to SQL alone so that the (lon, lat) index answers it; the scope and the
    exact polygon are then checked on the few dozen rows it returns.
    """
    columns = ("id", "address", "name", "lon", "lat", "grid_id")
    if building_ids is not None or ring is None:
        rows = Building.objects.filter(pk__in=building_ids or []).values_list(*columns)
    else:
        west, south, east, north = workflow.ring_bbox(ring)
        rows = Building.objects.filter(lon__gte=west, lon__lte=east, lat__gte=south, lat__lte=north
                                       ).values_list(*columns)
    allowed = set(grid_ids)
    found = [AreaBuilding(*row) for row in rows.order_by() if row[5] in allowed]
    if ring is not None and building_ids is None:
        found = [b for b in found if workflow.point_in_ring(b.lon, b.lat, ring)]
    return sorted(found, key=lambda b: (b.address, b.pk))


def _chosen_workers(grid_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """grid id → (user id, name shown) of its grid worker: the primary, else the first backup
    by username.

    One statement, the grids as one array parameter on PostgreSQL and without the ORM's
    per-value preparation (an area of 260 buildings may span many grids: preparing their
    ``IN`` list was the largest single cost of the emergency list's first screen)."""
    ids = sorted(set(grid_ids))
    if not ids:
        return {}
    assignment = connection.ops.quote_name(AreaAssignment._meta.db_table)
    user_table = connection.ops.quote_name(User._meta.db_table)
    sql = (f"SELECT a.area_id, a.kind, u.username, u.id, u.display_name FROM {assignment} a "  # noqa: S608 -- names
           f"JOIN {user_table} u ON u.id = a.user_id WHERE u.role = %s AND u.is_active = %s AND a.area_id ")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(sql + "= ANY(%s::bigint[])", [Role.GRID_WORKER, True, array_literal(ids)])
        else:
            cursor.execute(sql + f"IN ({', '.join(['%s'] * len(ids))})", [Role.GRID_WORKER, True, *ids])
        rows = cursor.fetchall()
    chosen: dict[int, tuple[int, str]] = {}
    for area_id, _kind, username, user_id, display_name in sorted(
            rows, key=lambda r: (r[1] != AssignmentKind.PRIMARY, r[2])):
        chosen.setdefault(area_id, (user_id, display_name or username))
    return chosen


def responsible_workers(grid_ids: Sequence[int]) -> dict[int, User]:
    """grid id → its grid worker (the primary, else the first backup by username); users are
    read for the chosen workers only."""
    chosen = _chosen_workers(grid_ids)
    users = User.objects.in_bulk(sorted({user_id for user_id, _name in chosen.values()}))
    return {area_id: users[user_id] for area_id, (user_id, _name) in chosen.items() if user_id in users}


def responsible_worker_names(grid_ids: Sequence[int]) -> dict[int, str]:
    """grid id → the name its grid worker is shown by (display name, else username), in the
    one statement of ``_chosen_workers``: what the emergency list's screen shows."""
    return {area_id: name for area_id, (_user_id, name) in _chosen_workers(grid_ids).items()}


def _area(user: Principal, shape: object, building_ids: Sequence[int] | None
          ) -> tuple[workflow.Ring, list[AreaBuilding]]:
    scope = registry_scope(user)
    ring: workflow.Ring | None = None
    if building_ids is not None:
        if not building_ids:
            raise ValidationFailed("buildings", _("请至少选择一栋楼"))
        if len(building_ids) > MAX_PICKED_BUILDINGS:
            raise ValidationFailed("buildings", _("一次最多选择 %(max)s 栋楼") % {"max": MAX_PICKED_BUILDINGS})
    else:
        ring = workflow.shape_ring(shape)
    buildings = _buildings_in(sorted(scope.grid_ids), ring, building_ids)
    if ring is None:
        ring = workflow.points_ring([(b.lon, b.lat) for b in buildings]) if buildings else []
    return ring, buildings


def _area_digests(user: Principal, shape: object, building_ids: Sequence[int] | None, on: date
                  ) -> tuple[list[AreaBuilding], dict[int, Digest]]:
    """``_area``'s buildings with their digests: a drawn shape's buildings and digests in one
    statement (the box), the scope and the exact polygon then checked on its rows."""
    if building_ids is not None:
        _ring, buildings = _area(user, shape, building_ids)
        return buildings, building_digests([b.pk for b in buildings], on)
    allowed = registry_scope(user).grid_ids
    ring = workflow.shape_ring(shape)

    def keep(row: tuple[Any, ...]) -> bool:
        return row[5] in allowed and workflow.point_in_ring(row[3], row[4], ring)

    rows, digests = building_digests_in_box(workflow.ring_bbox(ring), on, keep)
    return sorted((AreaBuilding(*row) for row in rows), key=lambda b: (b.address, b.pk)), digests


def area_roster_for_user(
    *, user: Principal, shape: object = None, building_ids: Sequence[int] | None = None, on: date | None = None,
) -> Roster:
    """The households inside a drawn shape or among picked buildings, within the caller's scope."""
    on = on or timezone.localdate()
    ring, buildings = _area(user, shape, building_ids)
    ids = [b.pk for b in buildings]
    addresses = {b.pk: b.address for b in buildings}
    households: dict[int, RosterHousehold] = {}
    for row in (Household.objects.filter(room__building_id__in=ids)
                .values_list("id", "number", "room__number", "room__floor", "room__unit__number",
                             "room__building_id", "grid_id")):
        households[row[0]] = RosterHousehold(
            household_id=row[0], number=row[1], room_number=row[2], floor=row[3], unit_number=row[4],
            building_id=row[5], grid_id=row[6], address=addresses.get(row[5], ""))
    kinds: dict[int, set[str]] = defaultdict(set)
    for person_id, kind in (
        PersonTag.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on), valid_from__lte=on,
                                 person__building_id__in=ids, person__is_deceased=False,
                                 kind__in=workflow.EMERGENCY_TAGS)
        .values_list("person_id", "kind")
    ):
        kinds[person_id].add(kind)
    residents = 0
    for person_id, name, phone, birth, household_id in (
        Person.objects.filter(building_id__in=ids, is_deceased=False, household_id__isnull=False)
        .order_by("household_id", "id")
        .values_list("id", "name", "phone_masked", "birth_date", "household_id")
    ):
        household = households.get(household_id)
        if household is None:  # a resident registered in a household that lives elsewhere
            continue
        own = kinds.get(person_id, set())
        if workflow.is_child(birth, on):
            own = own | {workflow.CHILD}
        household.members.append(RosterMember(person_id, name, phone, birth, workflow.sorted_kinds(own)))
        residents += 1
    for household in households.values():
        household.kinds = workflow.sorted_kinds(k for m in household.members for k in m.kinds)
        household.priority = workflow.household_priority(household.kinds)
        household.members.sort(key=lambda m: workflow.household_priority(m.kinds))
    workers = responsible_workers(sorted({b.grid_id for b in buildings}))
    by_building: dict[int, list[RosterHousehold]] = defaultdict(list)
    for household in sorted(households.values(), key=lambda h: (h.unit_number, h.floor, h.room_number, h.number)):
        by_building[household.building_id].append(household)
    roster_buildings: list[RosterBuilding] = []
    for building in buildings:
        entry = RosterBuilding(building.pk, building.address, building.name, building.lon, building.lat,
                               building.grid_id, workers.get(building.grid_id))
        units: dict[int, RosterUnit] = {}
        for household in by_building.get(building.pk, []):
            units.setdefault(household.unit_number, RosterUnit(household.unit_number)).households.append(household)
            entry.households += 1
            entry.residents += len(household.members)
            entry.vulnerable += household.vulnerable
        entry.units = list(units.values())
        roster_buildings.append(entry)
    # Buildings with the most vulnerable households first: that is where to send people.
    roster_buildings.sort(key=lambda b: (-b.vulnerable, b.address))
    flat = [h for b in roster_buildings for u in b.units for h in u.households]
    vulnerable = sorted((h for h in flat if h.vulnerable), key=lambda h: h.priority)
    return Roster(ring=ring, buildings=roster_buildings, vulnerable=vulnerable, households=flat,
                  residents=residents, workers=workers)


ROSTER_PAGE = 200
ROSTER_PAGE_MAX = 1000


@dataclass(frozen=True)
class RosterPage:
    """One screen of an area's households (the vulnerable first) with the totals of the area.

    What a program or the command centre's first screen needs at once: the full counts, the
    buildings with their grid worker, and ``limit`` households with their residents. Only
    the residents of the page are read; ranking every household needs just the emergency
    tags and the children, both a small part of the residents.
    """

    households: int
    residents: int
    vulnerable: int
    buildings: list[AreaBuilding]
    worker_names: dict[int, str]  # grid id → the name its grid worker is shown by
    page: list[RosterHousehold]
    offset: int
    next_offset: int | None


@contextmanager
def _index_walk_plans() -> Iterator[None]:
    """PostgreSQL plans for reads that walk a few thousand index entries down from an area.

    Its planner prices those probes above a parallel hash join over every household of the
    district, 2–3× slower (measured, docs/benchmarks.md): the data is in memory, so random
    reads are priced as such for these statements, without workers. Used by the later
    screens and by rebuilding stale digests.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute("SET LOCAL random_page_cost = 1.1")
        yield


@dataclass(frozen=True)
class RosterScreen:
    """``RosterPage`` as the JSON answer sends it: each household already a JSON array of
    ``SCREEN_COLUMNS`` (from the digests' ready rows), with its grid alongside."""

    households: int
    residents: int
    vulnerable: int
    buildings: list[AreaBuilding]
    worker_names: dict[int, str]  # grid id → the name its grid worker is shown by
    rows: list[str]
    grids: list[int]
    offset: int
    next_offset: int | None


def area_roster_screen_for_user(
    *, user: Principal, shape: object = None, building_ids: Sequence[int] | None = None, on: date | None = None,
    offset: int = 0, limit: int = ROSTER_PAGE,
) -> RosterScreen:
    """One screen of the area's households, vulnerable first, as ready JSON rows.

    The totals and the vulnerable households come from the registry's per-building digests
    (``registry.services.digests``): one row per building of the area (rebuilt on read only
    where a write has stamped it since the worker's last refresh). Each digest holds its
    vulnerable households ranked and already serialised, so the request only buckets them
    by priority, in the buildings' address order (each bucket is then in the whole roster's
    order: priority, building, unit, floor, room, number), and joins the screen's rows: no
    JSON is decoded and no object is made per household. The households after the
    vulnerable ones (later screens) are read from SQL.
    """
    on = on or timezone.localdate()
    if offset < 0:
        raise ValidationFailed("offset", _("起始位置不能为负数"))
    if not 1 <= limit <= ROSTER_PAGE_MAX:
        raise ValidationFailed("limit", _("每页户数应在 1 到 %(max)s 之间") % {"max": ROSTER_PAGE_MAX})
    buildings, digests = _area_digests(user, shape, building_ids, on)
    ids = [b.pk for b in buildings]
    buckets: list[list[str]] = [[] for _rank in range(workflow.NOT_VULNERABLE)]
    total = residents = 0
    for building in buildings:  # sorted by address
        digest = digests[building.pk]
        total += digest.households
        residents += digest.residents
        if digest.screen_rows:
            for line in digest.screen_rows.split("\n"):
                buckets[int(line[:line.index("\t")])].append(line)
    ranked = [line for bucket in buckets for line in bucket]
    lines = ranked[offset:offset + limit]
    rows: list[str] = []
    grids: list[int] = []
    for line in lines:
        _priority, grid, row = line.split("\t", 2)
        rows.append(row)
        grids.append(int(grid))
    if len(rows) < limit and offset + limit > len(ranked):
        vulnerable_ids = [int(line[line.index("[") + 1:line.index(",", line.index("["))]) for line in ranked]
        for household in _households_after_vulnerable(ids, vulnerable_ids, max(0, offset - len(ranked)),
                                                      limit - len(rows)):
            rows.append(json.dumps(_screen_row(household), ensure_ascii=False, separators=(",", ":")))
            grids.append(household.grid_id)
    end = offset + len(rows)
    return RosterScreen(
        households=total, residents=residents, vulnerable=len(ranked), buildings=buildings,
        worker_names=responsible_worker_names(sorted({b.grid_id for b in buildings})), rows=rows, grids=grids,
        offset=offset, next_offset=end if end < total else None)


def _screen_row(h: RosterHousehold) -> list[object]:
    """A household as a row of ``SCREEN_COLUMNS`` (what the digests store ready)."""
    return [h.household_id, h.building_id, h.unit_number, h.floor, h.room_number, h.number, h.priority, h.kinds,
            [[m.person_id, m.name, m.phone_masked, m.kinds] for m in h.members]]


def area_roster_page_for_user(
    *, user: Principal, shape: object = None, building_ids: Sequence[int] | None = None, on: date | None = None,
    offset: int = 0, limit: int = ROSTER_PAGE,
) -> RosterPage:
    """``area_roster_for_user`` for programs: the same households in the same priority, by
    pages (``area_roster_screen_for_user``'s rows, as objects)."""
    screen = area_roster_screen_for_user(user=user, shape=shape, building_ids=building_ids, on=on, offset=offset,
                                         limit=limit)
    page = []
    for text, grid_id in zip(screen.rows, screen.grids, strict=True):
        pk, building_id, unit, floor, room, number, priority, kinds, members = json.loads(text)
        page.append(RosterHousehold(household_id=pk, number=number, room_number=room, floor=floor,
                                    unit_number=unit, building_id=building_id, grid_id=grid_id, priority=priority,
                                    kinds=kinds, members=[RosterMember(m[0], m[1], m[2], None, m[3]) for m in members]))
    return RosterPage(
        households=screen.households, residents=screen.residents, vulnerable=screen.vulnerable,
        buildings=screen.buildings, worker_names=screen.worker_names, page=page, offset=screen.offset,
        next_offset=screen.next_offset)


def _households_after_vulnerable(ids: list[int], vulnerable_ids: list[int], offset: int, limit: int
                                 ) -> list[RosterHousehold]:
    """The area's other households, building → unit → room, with their living members
    registered in the same building (none of them carries an emergency kind)."""
    columns = ("id", "number", "room__number", "room__floor", "room__unit__number", "room__building_id", "grid_id")
    with _index_walk_plans():
        rows = list(Household.objects.filter(room__building_id__in=ids).exclude(pk__in=vulnerable_ids)
                    .order_by("room__building__address", "room__building_id", "room__unit__number", "room__floor",
                              "room__number", "number")
                    .values_list(*columns)[offset:offset + limit])
        page = [RosterHousehold(household_id=row[0], number=row[1], room_number=row[2], floor=row[3],
                                unit_number=row[4], building_id=row[5], grid_id=row[6]) for row in rows]
        by_id = {h.household_id: h for h in page}
        for person_id, name, phone, household_id, building_id in (
            Person.objects.filter(household_id__in=list(by_id), is_deceased=False)
            .order_by("household_id", "id").values_list("id", "name", "phone_masked", "household_id", "building_id")
        ):
            if building_id == by_id[household_id].building_id:
                by_id[household_id].members.append(RosterMember(person_id, name, phone, None, []))
    return page


def map_buildings_for_user(*, user: Principal) -> list[dict[str, object]]:
    """Buildings of the caller's scope as map points (no residents, no names)."""
    return _map_buildings(registry_scope(user).grid_ids)


def _map_buildings(grid_ids: frozenset[int]) -> list[dict[str, object]]:
    return [
        {"id": b.pk, "address": b.address, "name": b.name, "label": building_label(b), "lon": b.lon, "lat": b.lat}
        for b in Building.objects.filter(Among("grid_id", grid_ids))
        .order_by("id").only("id", "address", "compound", "name", "lon", "lat")
    ]


# --- incidents --------------------------------------------------------------------------------


def incident_list_for_user(*, user: Principal) -> QuerySet[Incident]:
    """Incidents whose area lies inside the caller's areas, plus those the caller has a task in."""
    scope = scope_for(user)
    condition = Q(area_id__in=sorted(scope.area_ids))
    if isinstance(user, User):
        condition |= Q(tasks__worker=user)
    return Incident.objects.filter(condition).distinct().select_related("area", "started_by")


def incident_get_for_user(*, user: Principal, incident_id: int) -> Incident:
    found = incident_list_for_user(user=user).filter(pk=incident_id).first()
    if found is None:
        raise NotFound()
    return found


def incident_households_for_worker(*, incident: Incident, user: User) -> list[IncidentHousehold]:
    """The households a grid worker checks: those of their task, else those of their grids."""
    scope = scope_for(user)
    rows = IncidentHousehold.objects.filter(incident=incident).select_related("household", "building")
    mine = rows.filter(Q(worker=user) | Q(grid_id__in=sorted(scope.grid_ids)))
    return list(mine.order_by("priority", "building__address", "unit_number", "floor", "room_number"))


def incident_household_get_for_user(*, user: User, incident: Incident, item_id: int) -> IncidentHousehold:
    scope = scope_for(user)
    found = (IncidentHousehold.objects.filter(incident=incident, pk=item_id)
             .filter(Q(worker=user) | Q(grid_id__in=sorted(scope.grid_ids))).first())
    if found is None:
        raise NotFound()
    return found


def tasks_for_worker(*, user: User) -> list[IncidentTask]:
    return list(IncidentTask.objects.filter(worker=user, incident__closed_at__isnull=True)
                .select_related("incident").order_by("-incident__started_at"))


@dataclass(frozen=True)
class BoardLine:
    label: str
    total: int
    checked: int
    needs_help: int


@dataclass(frozen=True)
class Board:
    """The live progress of an incident: checked of total, by building and by worker."""

    incident: Incident
    total: int
    checked: int
    by_state: dict[str, int]
    buildings: list[BoardLine]
    workers: list[BoardLine]
    vulnerable_total: int
    vulnerable_checked: int
    elapsed_seconds: int


def _lines(rows: QuerySet[IncidentHousehold], key: str, labels: dict[object, str]) -> list[BoardLine]:
    grouped = (rows.values(key)
               .annotate(total=Count("id"),
                         checked=Count("id", filter=~Q(state=CheckState.PENDING)),
                         help=Count("id", filter=Q(state=CheckState.NEEDS_HELP)))
               .order_by(key))
    lines = [BoardLine(labels.get(r[key], _("未分配网格员")), r["total"], r["checked"], r["help"]) for r in grouped]
    return sorted(lines, key=lambda line: (line.checked / line.total if line.total else 1, line.label))


def incident_board(*, incident: Incident, now: datetime | None = None) -> Board:
    """Aggregates only (four small queries): cheap enough to poll every two seconds."""
    rows = IncidentHousehold.objects.filter(incident=incident)
    by_state = dict(rows.values("state").annotate(n=Count("id")).values_list("state", "n"))
    total = sum(by_state.values())
    vulnerable = rows.filter(priority__lt=workflow.NOT_VULNERABLE).aggregate(
        total=Count("id"), checked=Count("id", filter=~Q(state=CheckState.PENDING)))
    building_ids = rows.values_list("building_id", flat=True).distinct()
    building_labels: dict[object, str] = dict(
        Building.objects.filter(pk__in=building_ids).values_list("id", "address"))
    worker_labels: dict[object, str] = {
        t.worker_id: t.worker.display_name or t.worker.username
        for t in IncidentTask.objects.filter(incident=incident).select_related("worker")
    }
    end = incident.closed_at or now or timezone.now()
    return Board(
        incident=incident, total=total, checked=total - by_state.get(CheckState.PENDING, 0), by_state=by_state,
        buildings=_lines(rows, "building_id", building_labels), workers=_lines(rows, "worker_id", worker_labels),
        vulnerable_total=vulnerable["total"], vulnerable_checked=vulnerable["checked"],
        elapsed_seconds=max(0, int((end - incident.started_at).total_seconds())),
    )


def incident_report_rows(*, incident: Incident) -> list[IncidentHousehold]:
    return list(IncidentHousehold.objects.filter(incident=incident)
                .select_related("household", "building", "grid", "worker", "marked_by")
                .order_by("priority", "building__address", "unit_number", "floor", "room_number"))


# --- the cockpit (数字驾驶舱) -----------------------------------------------------------------


@dataclass
class CockpitData:
    """KPIs, trends and map layers of the caller's area; no names or addresses of residents."""

    figures: list[tuple[str, object, str]]
    open_by_level: list[tuple[int, int]]
    tags: list[tuple[str, int]]
    trend: dict[str, list[object]]
    layers: dict[str, list[dict[str, object]]]


MAP_CASES_MAX = 3000
TREND_MONTHS = 12


def _rate_text(value: float | int | None) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def cockpit_for_user(*, user: User, today: date | None = None) -> CockpitData:
    """Everything the wall screen shows, each part from the app that owns it.

    Case figures come from the rollups (``case_statistics_for_user``), never a scan of the
    cases; open cases by level and on the map read the (grid, status) index. The scope is
    read once and the grids and areas go to each statement as one parameter (``Among``):
    for a district, preparing 400–900 ids per statement was most of the call's time.
    """
    scope = registry_scope(user)
    today = today or timezone.localdate()
    grids = scope.grid_ids
    counts = registry_counts_for_user(user=user, on=today, scope=scope)
    tags = sorted(((k.removeprefix("tag:"), n) for k, n in counts.items() if k.startswith("tag:")),
                  key=lambda item: -item[1])
    open_cases = Case.objects.filter(Among("grid_id", grids), status__in=list(OPEN_STATUSES))
    # One pass over the open cases' (grid, status) index gives both the levels and the map's
    # load per grid (two GROUP BYs cost twice, 9-10 ms each over a district's 400 grids).
    per_grid: dict[int, int] = {}
    levels: dict[int, int] = {}
    for grid_id, level, n in open_cases.values("grid_id", "level").annotate(n=Count("id")).values_list(
            "grid_id", "level", "n").order_by():
        per_grid[grid_id] = per_grid.get(grid_id, 0) + n
        levels[level] = levels.get(level, 0) + n
    by_level = sorted(levels.items())
    first = today.replace(day=1)
    for _step in range(TREND_MONTHS - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    # The day, the month so far and the 12-month trend in one rollup statement.
    cases = case_figures_for_user(user=user, today=today, first=first, scope=scope)
    start_of_day = timezone.make_aware(datetime.combine(today, datetime.min.time()))
    applications_today = application_list_for_user(user=user).filter(submitted_at__gte=start_of_day).count()
    figures: list[tuple[str, object, str]] = [
        (_("实有人口"), counts.get("persons", 0), "kpi-persons"),
        (_("户数"), counts.get("households", 0), "kpi-households"),
        (_("重点人群(人次)"), sum(n for _k, n in tags), "kpi-key-populations"),
        (_("在办事件"), sum(n for _l, n in by_level), "kpi-open-cases"),
        (_("今日上报"), cases.today.reported, "kpi-intake-today"),
        (_("本月按期处置率"), _rate_text(compute(cases.this_month).get("on_time_handle_rate")), "kpi-on-time"),
        (_("今日办件申请"), applications_today, "kpi-applications-today"),
    ]
    trend: dict[str, list[object]] = {"months": [key for key, _c in cases.months],
                                      "reported": [c.reported for _k, c in cases.months],
                                      "closed": [c.closed for _k, c in cases.months]}
    areas = (Area.objects.filter(Among("pk", scope.area_ids), boundary__isnull=False,
                                 level__in=[AreaLevel.GRID, AreaLevel.COMMUNITY])
             .values_list("pk", "name", "boundary", "level"))
    grid_layer = [{"id": pk, "name": name, "boundary": boundary, "open": per_grid.get(pk, 0)}
                  for pk, name, boundary, level in areas if level == AreaLevel.GRID]
    community_layer = [{"id": pk, "name": name, "boundary": boundary}
                       for pk, name, boundary, level in areas if level == AreaLevel.COMMUNITY]
    case_layer: list[dict[str, object]] = [{"lon": lon, "lat": lat, "level": level} for lon, lat, level in
                  open_cases.filter(lon__isnull=False, lat__isnull=False)
                  .order_by("-id").values_list("lon", "lat", "level")[:MAP_CASES_MAX]]
    density = (PersonTag.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today),
                                        Among("person__grid_id", grids), valid_from__lte=today,
                                        person__is_deceased=False,
                                        kind__in=workflow.EMERGENCY_TAGS, person__building__isnull=False)
               .values("person__building_id").annotate(n=Count("person_id", distinct=True)))
    placed = [row["person__building_id"] for row in density]
    positions = {pk: (lon, lat) for pk, lon, lat in Building.objects.filter(
        Among("pk", placed)).values_list("id", "lon", "lat")} if placed else {}
    density_layer = [{"lon": positions[row["person__building_id"]][0], "lat": positions[row["person__building_id"]][1],
                      "n": row["n"]} for row in density if row["person__building_id"] in positions]
    return CockpitData(
        figures=figures, open_by_level=by_level, tags=[(str(TagKind(k).label) if k in TagKind.values else k, n) for k, n in tags[:8]],
        trend=trend,
        layers={"grids": grid_layer, "communities": community_layer, "buildings": _map_buildings(grids),
                "cases": case_layer, "density": density_layer},
    )


# --- drill-down and live alarms on the cockpit map --------------------------------------------


@dataclass
class GridDrill:
    """One grid's figures for the operator who clicked it: counts only, no resident named."""

    grid: Area
    parent_name: str
    workers: list[str]
    residents: int
    households: int
    open_cases: int
    open_by_level: list[tuple[int, int]]
    open_alarms: int
    vulnerable_total: int
    vulnerable: list[tuple[str, int]]


def grid_drill_for_user(*, user: User, grid_id: int, today: date | None = None) -> GridDrill:
    """A grid of the caller's scope (else :class:`NotFound`): worker, residents, open cases by
    level, open alarms, vulnerable residents by kind."""
    scope = registry_scope(user)
    if grid_id not in scope.grid_ids:
        raise NotFound()
    grid = Area.objects.select_related("parent").get(pk=grid_id)
    today = today or timezone.localdate()
    by_level = sorted(Case.objects.filter(grid_id=grid_id, status__in=list(OPEN_STATUSES))
                      .values("level").annotate(n=Count("id")).values_list("level", "n"))
    tags = PersonTag.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today), valid_from__lte=today,
                                    person__grid_id=grid_id, person__is_deceased=False,
                                    kind__in=workflow.EMERGENCY_TAGS)
    by_kind = dict(tags.values("kind").annotate(n=Count("person_id", distinct=True)).values_list("kind", "n"))
    return GridDrill(
        grid=grid, parent_name=grid.parent.name if grid.parent else "",
        workers=[a.user.display_name or a.user.username for a in grid_workers_of(grid=grid)],
        residents=Person.objects.filter(grid_id=grid_id, is_deceased=False).count(),
        households=Household.objects.filter(grid_id=grid_id).count(),
        open_cases=sum(n for _level, n in by_level), open_by_level=by_level,
        open_alarms=alarm_list_for_user(user=user).filter(grid_id=grid_id).count(),
        vulnerable_total=tags.values("person_id").distinct().count(),
        vulnerable=[(str(workflow.KIND_LABELS[k]), by_kind[k]) for k in workflow.PRIORITY_KINDS if by_kind.get(k)],
    )


MAP_ALARMS_MAX = 200


@dataclass
class LiveAlarm:
    """An open alarm on the wall screen: what and where (grid), never whose."""

    id: int
    level: int
    kind: str
    grid: str
    raised_at: datetime
    lon: float | None
    lat: float | None


def live_alarms_for_user(*, user: User) -> list[LiveAlarm]:
    """Open device alarms of the caller's grids, newest first, placed at the device or its building."""
    # Polled every few seconds by every open cockpit (benchmarks/bench_cockpit_live.py): the
    # nine columns it shows, not the alarm, device, building, grid and case rows as models.
    rows = alarm_list_for_user(user=user).values_list(
        "id", "level", "kind", "grid__name", "raised_at", "device__lon", "device__lat",
        "device__building__lon", "device__building__lat",
    )[:MAP_ALARMS_MAX]
    kinds = dict(AlarmKind.choices)
    alarms = []
    for pk, level, kind, grid, raised_at, lon, lat, building_lon, building_lat in rows:
        if lon is None or lat is None:
            lon, lat = building_lon, building_lat
        alarms.append(LiveAlarm(id=pk, level=level, kind=str(kinds.get(kind, kind)), grid=grid,
                                raised_at=raised_at, lon=lon, lat=lat))
    return alarms


# --- the live stream (linli/cockpit/live.py): new alarms and level-1 cases -------------------

LIVE_CASE_LEVEL = 1
# The stream reads rows above its mark minus this many ids, so a row whose transaction
# committed after a higher id was already seen (concurrent inserts) is still found once.
LIVE_LOOKBACK_IDS = 200
LIVE_BATCH_MAX = 500


@dataclass(frozen=True)
class LiveViewer:
    """Who holds a live stream open, and what they may see of it (checked once, re-checked
    periodically by the stream)."""

    user: User
    scope: AreaScope
    alarm_grids: frozenset[int]


@dataclass(frozen=True)
class LiveEvent:
    """A new alarm or level-1 case for the wall screens: what and where, never whose."""

    kind: str  # "alarm" or "case"
    id: int
    level: int
    what: str  # the alarm kind (a code, labelled per language by the stream) or the case category
    grid_id: int | None
    grid: str
    at: datetime
    lon: float | None
    lat: float | None
    case: Case | None = None  # for the case scope rule; never sent
    # What the stream's marks count: the alarm, the new case, or the level change (its timeline
    # event's id: a case raised to level 1 is announced once per raise).
    feed: str = ""
    feed_id: int = 0

    @property
    def key(self) -> tuple[str, int]:
        return (self.feed or self.kind, self.feed_id or self.id)


def live_viewer(*, user: object) -> LiveViewer | None:
    """The cockpit's viewer (an operator, as the cockpit page requires), else ``None``."""
    if not is_staff_user(user, OPERATOR_ROLES) or not isinstance(user, User):
        return None
    return LiveViewer(user=user, scope=scope_for(user), alarm_grids=alarm_grids_for_user(user=user))


def live_event_visible(*, viewer: LiveViewer, event: LiveEvent) -> bool:
    """The rule of the cockpit's own lists: alarms by grid, cases by the case scope."""
    if event.kind == "alarm":
        return event.grid_id is not None and event.grid_id in viewer.alarm_grids
    return event.case is not None and case_visible_to(user=viewer.user, scope=viewer.scope, case=event.case)


def live_marks() -> tuple[int, int, int]:
    """The highest alarm, case and case-event ids now: the stream announces only what comes after."""
    alarm = Alarm.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    case = Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    event = CaseEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return alarm, case, event


_LIVE_CASE_FIELDS = ("pk", "level", "grid_id", "grid__name", "category__name", "created_at", "lon", "lat",
                     "reporter_id", "department_id", "escalated_to_id")


def _live_case(case: Case, *, at: datetime, feed: str = "", feed_id: int = 0) -> LiveEvent:
    return LiveEvent(kind="case", id=case.pk, level=case.level, what=case.category.name if case.category else "",
                     grid_id=case.grid_id, grid=case.grid.name if case.grid else "", at=at, lon=case.lon,
                     lat=case.lat, case=case, feed=feed, feed_id=feed_id)


def live_events_after(*, alarm_after: int, case_after: int, event_after: int) -> list[LiveEvent]:
    """Alarms with an id above ``alarm_after``, level-1 cases above ``case_after`` and cases
    raised to level 1 by a timeline event above ``event_after`` (primary-key range reads,
    whatever the size of the tables), oldest first."""
    events = []
    alarms = (Alarm.objects.filter(pk__gt=alarm_after).order_by("pk")
              .values_list("pk", "level", "kind", "grid_id", "grid__name", "raised_at", "device__lon",
                           "device__lat", "device__building__lon", "device__building__lat")[:LIVE_BATCH_MAX])
    for pk, level, kind, grid_id, grid, raised_at, lon, lat, building_lon, building_lat in alarms:
        if lon is None or lat is None:
            lon, lat = building_lon, building_lat
        events.append(LiveEvent(kind="alarm", id=pk, level=level, what=kind, grid_id=grid_id, grid=grid or "",
                                at=raised_at, lon=lon, lat=lat))
    # A case that reached level 1 by a change is announced by that change (below), not again
    # as a new case when the look-back re-reads its id.
    regraded = CaseEvent.objects.filter(case_id=OuterRef("pk"), action=REGRADE_EVENT)
    cases = (Case.objects.filter(pk__gt=case_after, level=LIVE_CASE_LEVEL).exclude(Exists(regraded)).order_by("pk")
             .select_related("category", "grid").only(*_LIVE_CASE_FIELDS)[:LIVE_BATCH_MAX])
    events.extend(_live_case(case, at=case.created_at) for case in cases)
    # Level changes are rare: the range read finds a handful; a raise to level 1 of a case
    # still at level 1 is announced.
    raised = (CaseEvent.objects.filter(pk__gt=event_after, action=REGRADE_EVENT, case__level=LIVE_CASE_LEVEL)
              .order_by("pk").select_related("case__category", "case__grid")
              .only("pk", "at", "data", "case_id", *(f"case__{'id' if name == 'pk' else name}" for name in _LIVE_CASE_FIELDS))[:LIVE_BATCH_MAX])
    events.extend(_live_case(event.case, at=event.at, feed="regrade", feed_id=event.pk) for event in raised
                  if event.data.get("to_level") == LIVE_CASE_LEVEL)
    return events
