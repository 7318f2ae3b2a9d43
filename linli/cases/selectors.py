"""Reads of the cases app, always scoped by ``scope_for(user)``.

Who sees a case: the user who reported it; staff whose scope holds the case's grid (or
the area it was escalated to); department staff for cases of their department in their
areas; street staff and district admins also see cases no grid could be found for.
Anything else is :class:`~linli.core.errors.NotFound`, never a hint that it exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from linli.accounts.choices import Permission, Role
from linli.accounts.models import User
from linli.accounts.selectors import AreaScope, scope_for
from linli.cases import workflow
from linli.cases.choices import OPEN_STATUSES, CaseStatus, SupervisionLevel
from linli.cases.models import Case, CaseEvent, CasePhoto, Category, DispatchRule
from linli.core.errors import NotFound

S = CaseStatus
_STREET_UP = frozenset({Role.STREET_STAFF, Role.DISTRICT_ADMIN})
_NO_CASES = frozenset({Role.AUDITOR})


def case_scope_q(*, user: User, scope: AreaScope, as_reporter: bool = True) -> Q:
    """The cases ``user`` may see, as a filter (``pk__in=[]`` when nothing)."""
    visible = Q(pk__in=[])
    if as_reporter:
        visible |= Q(reporter_id=user.pk)
    if user.role in _NO_CASES or user.role == Role.RESIDENT or not scope.area_ids:
        return visible
    if user.role == Role.DEPARTMENT_STAFF:
        # The department's id as a constant for the planner: a join on the department inside
        # the scope's ``OR`` made PostgreSQL scan the case table (217 ms over 3 M cases).
        if user.department_id is not None:
            visible |= Q(department_id=user.department_id, grid_id__in=scope.grid_ids)
            visible |= Q(department_id=user.department_id, grid__isnull=True)
        return visible
    visible |= Q(grid_id__in=scope.grid_ids) | Q(escalated_to_id__in=scope.area_ids)
    if user.role in _STREET_UP:
        visible |= Q(grid__isnull=True)
    return visible


def case_visible_to(*, user: User, scope: AreaScope, case: Case, as_reporter: bool = True) -> bool:
    """The same rule as :func:`case_scope_q`, for a case already loaded."""
    if as_reporter and case.reporter_id is not None and case.reporter_id == user.pk:
        return True
    if user.role in _NO_CASES or user.role == Role.RESIDENT or not scope.area_ids:
        return False
    if user.role == Role.DEPARTMENT_STAFF:
        if user.department_id is None or case.department_id != user.department_id:
            return False
        return case.grid_id is None or case.grid_id in scope.grid_ids
    if case.grid_id in scope.grid_ids or case.escalated_to_id in scope.area_ids:
        return True
    return case.grid_id is None and user.role in _STREET_UP


def _base() -> QuerySet[Case]:
    return Case.objects.select_related("category", "category__parent", "grid", "department", "assignee")


def case_get_for_user(*, user: User, case_id: int) -> Case:
    """One case the user may see; else :class:`NotFound`."""
    case = _base().filter(case_scope_q(user=user, scope=scope_for(user))).filter(pk=case_id).first()
    if case is None:
        raise NotFound(_("事件不存在"))
    return case


def case_get_by_number_for_user(*, user: User, number: str) -> Case:
    case = _base().filter(case_scope_q(user=user, scope=scope_for(user))).filter(number=number).first()
    if case is None:
        raise NotFound(_("事件不存在"))
    return case


@dataclass
class CaseFilters:
    """Filters of the case list; empty values filter nothing."""

    status: list[str] = field(default_factory=list)
    open_only: bool = False
    category_id: int | None = None
    source: str = ""
    grid_id: int | None = None
    department_id: int | None = None
    assignee_id: int | None = None
    min_supervision: int = 0
    overdue: bool = False
    created_from: datetime | None = None
    created_to: datetime | None = None
    q: str = ""


def case_list_for_user(*, user: User, filters: CaseFilters | None = None) -> QuerySet[Case]:
    """The user's cases, newest first, filtered; never outside their scope."""
    f = filters or CaseFilters()
    query = _base().filter(case_scope_q(user=user, scope=scope_for(user)))
    if f.status:
        query = query.filter(status__in=f.status)
    if f.open_only:
        query = query.filter(status__in=OPEN_STATUSES)
    if f.category_id:
        query = query.filter(Q(category_id=f.category_id) | Q(category__parent_id=f.category_id))
    if f.source:
        query = query.filter(source=f.source)
    if f.grid_id:
        query = query.filter(grid_id=f.grid_id)
    if f.department_id:
        query = query.filter(department_id=f.department_id)
    if f.assignee_id:
        query = query.filter(assignee_id=f.assignee_id)
    if f.min_supervision:
        query = query.filter(supervision_level__gte=f.min_supervision)
    if f.overdue:
        query = query.filter(status__in=OPEN_STATUSES, supervision_level__gte=SupervisionLevel.YELLOW)
    if f.created_from:
        query = query.filter(created_at__gte=f.created_from)
    if f.created_to:
        query = query.filter(created_at__lt=f.created_to)
    if f.q:
        query = query.filter(Q(number__icontains=f.q) | Q(description__icontains=f.q) | Q(address__icontains=f.q))
    return query.order_by("-created_at", "-id")


# The fields a list row shows (cases/templatetags/linli_cases.py): loading the whole case with five joins
# for 100 rows cost the street user's list 30 ms of its 100 (SQLite, demo street).
_ROW_FIELDS = ("id", "number", "status", "supervision_level", "description", "stage_due_at", "created_at",
               "category__name", "grid__name")


def _row_base() -> QuerySet[Case]:
    return Case.objects.select_related("category", "grid").only(*_ROW_FIELDS)


# The first try of a page looks at this many times as many of the table's newest cases as the
# page needs (at least _NEWEST_MIN), for pages up to _NEWEST_MAX_END deep.
_NEWEST_FACTOR = 8
_NEWEST_MIN = 400
_NEWEST_MAX_END = 500


def _ids_among_newest(ordered: QuerySet[Case], *, offset: int, limit: int) -> list[int] | None:
    """The page's ids when the table's newest cases hold it, else None (the caller asks the
    whole list).

    A street's or a district's scope holds nearly every case, and SQLite answers the scope's
    ``OR`` by collecting every case in scope and sorting them all (≈ 60 ms for the demo
    street's first page, issue #15); the newest few hundred cases of the table, read from
    the ``created_at`` index, usually hold the page. They are a prefix of the list's order
    (``-created_at, -id``), so a page found among them is the page.
    """
    wanted = offset + limit
    if wanted > _NEWEST_MAX_END:
        return None
    newest = Case.objects.order_by("-created_at", "-id").values("id")[:max(_NEWEST_MIN, _NEWEST_FACTOR * wanted)]
    ids = list(ordered.filter(pk__in=newest).values_list("id", flat=True)[:wanted])
    return ids[offset:] if len(ids) == wanted else None


@dataclass(frozen=True)
class CasePage:
    """One page of a case list, newest first, and how many cases match (up to ``count_cap``)."""

    items: list[Case]
    offset: int
    limit: int
    count: int
    count_capped: bool


def case_page_for_user(
    *, user: User, filters: CaseFilters | None = None, limit: int = 50, offset: int = 0, count_cap: int = 1000,
) -> CasePage:
    """A page of :func:`case_list_for_user` for list pages, in three small queries.

    Ids first, without joins (the scope's ``OR`` and the sort read only the case table and
    its indexes), then the page's rows with the two names a row shows, and a count that
    stops at ``count_cap`` (unordered: an exact count of a district's millions of cases
    would read them all to print one number).
    """
    ordered = case_list_for_user(user=user, filters=filters)
    ids = _ids_among_newest(ordered, offset=offset, limit=limit)
    if ids is None:
        ids = list(ordered.values_list("id", flat=True)[offset:offset + limit])
    if len(ids) < limit and (ids or not offset):
        count = offset + len(ids)  # the last page: no count query needed
    else:
        count = ordered.order_by()[:count_cap + 1].count()
    rows = {c.pk: c for c in Case.objects.filter(pk__in=ids).select_related("category", "grid").only(*_ROW_FIELDS)}
    return CasePage(items=[rows[pk] for pk in ids if pk in rows], offset=offset, limit=limit,
                    count=min(count, count_cap), count_capped=count > count_cap)


def _inbox_q(user: User, scope: AreaScope) -> Q:
    """What the role must act on now among open cases (a subset of what it may see)."""
    mine = Q(pk__in=[])
    if user.role == Role.GRID_WORKER:
        mine |= Q(assignee_id=user.pk, status__in=[S.DISPATCHED, S.ACCEPTED])
        # Verify on site what others handled in my grids.
        mine |= Q(grid_id__in=scope.grid_ids, status=S.HANDLED) & ~Q(assignee_id=user.pk)
    elif user.role == Role.DEPARTMENT_STAFF:
        mine |= Q(status__in=[S.DISPATCHED, S.ACCEPTED], department_id=user.department_id) & (
            Q(assignee__isnull=True) | Q(assignee_id=user.pk))
    elif user.role in (Role.COMMUNITY_STAFF, Role.STREET_STAFF):
        mine |= Q(status__in=[S.REPORTED, S.REGISTERED, S.RETURNED, S.VERIFIED])
        mine |= Q(status=S.ACCEPTED, extension_requested_until__isnull=False)
        mine |= Q(status=S.HANDLED, assignee_id__isnull=False, assignee__role=Role.GRID_WORKER)
        if user.role == Role.STREET_STAFF:
            mine |= Q(status=S.PENDING_APPROVAL) | Q(escalated_to_id__in=scope.area_ids, status__in=OPEN_STATUSES)
    elif user.role == Role.DISTRICT_ADMIN:
        mine |= Q(status=S.PENDING_APPROVAL)
        mine |= Q(status__in=OPEN_STATUSES, supervision_level=SupervisionLevel.ESCALATED)
        mine |= Q(status__in=OPEN_STATUSES, grid__isnull=True)
    return mine


_RESIDENT_CHANNELS = ("resident", "open311", "hotline")


def _my_reports_q(user: User) -> Q:
    """Whatever the role: my own reports waiting for my verification or rating."""
    return Q(reporter_id=user.pk, source__in=_RESIDENT_CHANNELS) & (
        Q(status=S.CLOSED, satisfaction__isnull=True) | Q(status=S.HANDLED))


def _urgency(case: Case) -> tuple[int, bool, datetime, int]:
    """The inbox order: supervision level (highest first), then the earliest stage deadline
    (none last), then the oldest."""
    due = case.stage_due_at
    return (-case.supervision_level, due is None, due or datetime.max.replace(tzinfo=UTC), case.pk)


def case_inbox_for_user(*, user: User, limit: int = 100, rows_only: bool = False) -> list[Case]:
    """The cases the user must act on now, most urgent first (supervision level, then the
    earliest stage deadline). ``rows_only``: only the fields a list row shows (the inbox
    page), not the whole case with five joins.

    Two queries merged, each answered by an index of its own: the role's work among open
    cases (its top-level status condition lets PostgreSQL start from the partial index of
    open cases, a few thousand rows in a district of millions; one ``OR`` over the whole
    history made it combine the bitmaps of whole indexes, 120 ms), and the user's own
    reports waiting for his rating (by reporter).
    """
    scope = scope_for(user)
    order = ("-supervision_level", F("stage_due_at").asc(nulls_last=True), "id")
    base = _row_base if rows_only else _base
    work = list(
        base().filter(status__in=OPEN_STATUSES).filter(case_scope_q(user=user, scope=scope))
        .filter(_inbox_q(user, scope)).order_by(*order)[:limit]
    )
    reports = list(base().filter(_my_reports_q(user)).order_by(*order)[:limit])
    seen = {case.pk for case in work}
    return sorted(work + [case for case in reports if case.pk not in seen], key=_urgency)[:limit]


def case_actions_for_user(*, user: User, case: Case) -> list[str]:
    """Actions the user may offer on the case (the service re-checks everything)."""
    scope = scope_for(user)
    roles: set[str] = set()
    if case.reporter_id is not None and case.reporter_id == user.pk:
        roles.add(workflow.REPORTER)
    if case_visible_to(user=user, scope=scope, case=case, as_reporter=False):
        roles.add(user.role)
    handler = case.assignee_id == user.pk or (
        case.assignee_id is None and user.role == Role.DEPARTMENT_STAFF and user.department_id is not None
        and case.department_id == user.department_id)
    if roles and handler:
        roles.add(workflow.HANDLER)
    actions = workflow.allowed_actions(case.status, roles)
    pending = case.extension_requested_until is not None
    result = []
    for action in actions:
        if action in workflow.ASSIGNEE_ACTIONS and not handler:
            continue
        if action == "request_extension" and pending:
            continue
        if action in ("approve_extension", "reject_extension") and not pending:
            continue
        result.append(action)
    return result


def case_timeline(*, case: Case) -> list[CaseEvent]:
    """The case's events, oldest first (call after :func:`case_get_for_user`)."""
    return list(CaseEvent.objects.filter(case=case).select_related("actor").order_by("at", "id"))


def case_photos(*, case: Case) -> list[CasePhoto]:
    return list(CasePhoto.objects.filter(case=case).order_by("created_at", "id"))


_EARTH_M = 6_371_008.8


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_M * math.asin(math.sqrt(a))


def case_duplicates(*, case: Case, radius_m: float = 100, limit: int = 10) -> list[tuple[Case, float]]:
    """Possible duplicates: same category, still open, within ``radius_m``; nearest first.

    A bounding box narrows the query (indexed columns), haversine decides. Callers scope
    ``case`` first; the suggestions stay inside the case's grid's neighbourhood anyway.
    """
    if case.lon is None or case.lat is None:
        return []
    dlat = radius_m / 111_320.0
    dlon = dlat / max(math.cos(math.radians(case.lat)), 1e-6)
    near = (
        Case.objects.filter(category_id=case.category_id, status__in=OPEN_STATUSES, merged_into__isnull=True)
        .exclude(pk=case.pk)
        .filter(lon__gte=case.lon - dlon, lon__lte=case.lon + dlon,
                lat__gte=case.lat - dlat, lat__lte=case.lat + dlat)
        .select_related("category", "grid")
    )
    found = []
    for other in near[:500]:
        if other.lon is None or other.lat is None:
            continue
        distance = haversine_m(case.lon, case.lat, other.lon, other.lat)
        if distance <= radius_m:
            found.append((other, distance))
    found.sort(key=lambda pair: (pair[1], pair[0].pk))
    return found[:limit]


@dataclass
class CategoryNode:
    """A 大类 with its 小类."""

    category: Category
    children: list[Category] = field(default_factory=list)


def category_tree(*, include_inactive: bool = False) -> list[CategoryNode]:
    """The two-level catalogue in display order (not scoped: the catalogue is public)."""
    query = Category.objects.select_related("department").order_by("order", "code")
    if not include_inactive:
        query = query.filter(active=True)
    rows = list(query)
    nodes = {c.pk: CategoryNode(c) for c in rows if c.parent_id is None}
    for category in rows:
        if category.parent_id is not None and category.parent_id in nodes:
            nodes[category.parent_id].children.append(category)
    return list(nodes.values())


# --- Reference data for the administration pages ----------------------------------------


def dispatch_rule_list_for_user(*, user: User) -> QuerySet[DispatchRule]:
    """The rules a district administrator keeps: district-wide ones (any area) and those of
    areas in their scope; by category code, then the more specific area."""
    scope = scope_for(user)
    if not scope.can(Permission.MANAGE_RULES):
        return DispatchRule.objects.none()
    return (DispatchRule.objects.filter(Q(area__isnull=True) | Q(area_id__in=sorted(scope.area_ids)))
            .select_related("category", "category__parent", "area", "department")
            .order_by(F("category__code").asc(nulls_first=True), F("area__path").asc(nulls_first=True), "-priority", "id"))


def dispatch_rule_get_for_user(*, user: User, rule_id: int) -> DispatchRule:
    rule = dispatch_rule_list_for_user(user=user).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("派遣规则不存在"))
    return rule


def category_get(*, category_id: int) -> Category:
    """One category (the catalogue is public), with its 大类 and department."""
    category = Category.objects.select_related("parent", "department").filter(pk=category_id).first()
    if category is None:
        raise NotFound(_("事件类别不存在"))
    return category


@dataclass(frozen=True)
class HotlineCaller:
    """A 12345 case with the caller's phone in clear, for another app's matching in memory
    (care: a complaint by a cared-for person is a must-visit). Never shown or stored."""

    case_id: int
    number: str
    opened_at: datetime
    grid_id: int | None
    phone: str


def hotline_callers(*, since: datetime, until: datetime) -> list[HotlineCaller]:
    """The 12345 hotline cases opened in ``[since, until)`` that carry a callback phone, oldest
    first. Decrypted here, under the cases field binding; the caller keeps no copy."""
    from linli.cases.choices import CaseSource
    from linli.core import pii

    rows = (Case.objects.filter(source=CaseSource.HOTLINE, created_at__gte=since, created_at__lt=until)
            .exclude(callback_phone_enc="").order_by("created_at", "id")
            .values_list("pk", "number", "created_at", "grid_id", "callback_phone_enc"))
    field_name = Case.PII_FIELDS["callback_phone_enc"]
    return [HotlineCaller(pk, number, at, grid_id, pii.decrypt(token, field=field_name))
            for pk, number, at, grid_id, token in rows]
