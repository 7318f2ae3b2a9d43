"""Reads of the accounts app, above all: which areas and grids a principal may see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.accounts.choices import AssignmentKind, Permission, Role
from linli.accounts.models import (
    ApiKey,
    AreaAssignment,
    Department,
    LoginThrottle,
    User,
)
from linli.accounts.workflow import API_SCOPES, ROLE_PERMISSIONS, LoginClient
from linli.core.errors import NotFound
from linli.core.models import REFERENCE_TOPIC
from linli.core.selectors import change_generation
from linli.geo.choices import AreaLevel
from linli.geo.models import Area

Principal = User | ApiKey


@dataclass(frozen=True)
class AreaScope:
    """What a principal may see: areas (with descendants), grids inside them, permissions.

    Every scoped selector filters by ``grid_ids`` or ``area_ids``; an empty scope sees
    nothing, never everything.
    """

    area_ids: frozenset[int]
    grid_ids: frozenset[int]
    permissions: frozenset[str]
    label: str

    def can(self, permission: str) -> bool:
        return permission in self.permissions


EMPTY_SCOPE = AreaScope(frozenset(), frozenset(), frozenset(), "anonymous")


def _areas_under(roots: QuerySet[Area] | list[Area]) -> QuerySet[Area]:
    condition = Q(pk__in=[])
    for root in roots:
        condition |= Q(path__startswith=root.path)
    return Area.objects.filter(condition)


def scope_for(principal: Principal | None) -> AreaScope:
    """The scope of a user or an API key; inactive users and revoked keys get nothing."""
    # AnonymousUser may slip in from ``request.user``: it sees nothing.
    if principal is None or not getattr(principal, "is_authenticated", True):
        return EMPTY_SCOPE
    if isinstance(principal, ApiKey):
        if principal.revoked_at is not None:
            return EMPTY_SCOPE
        area_ids, grid_ids = _areas_and_grids(list(principal.areas.all()))
        return AreaScope(area_ids, grid_ids, frozenset(s for s in principal.scopes if s in API_SCOPES),
                         f"apikey:{principal.prefix}")
    if not principal.is_active:
        return EMPTY_SCOPE
    area_ids, grid_ids = _user_areas(principal.pk)
    return AreaScope(area_ids, grid_ids, ROLE_PERMISSIONS.get(principal.role, frozenset()), principal.username)


def _areas_and_grids(roots: list[Area]) -> tuple[frozenset[int], frozenset[int]]:
    if not roots:
        return frozenset(), frozenset()
    rows = list(_areas_under(roots).values_list("pk", "level"))
    return frozenset(pk for pk, _ in rows), frozenset(pk for pk, level in rows if level == AreaLevel.GRID)


# Per process: user id → the areas and grids under their assignments, valid while the
# reference stamp is unchanged (its triggers fire on every write to areas and assignments,
# whatever the path). A district admin's scope is ~500 areas read and put in sets: 10 ms of
# every page on a small CPU, now one primary-key read.
_SCOPE_CACHE_SIZE = 4096
_scope_cache: tuple[int | None, dict[int, tuple[frozenset[int], frozenset[int]]]] = (None, {})


def _user_areas(user_id: int) -> tuple[frozenset[int], frozenset[int]]:
    global _scope_cache  # one cache per process, like the other reference-data caches
    stamp = change_generation(REFERENCE_TOPIC)
    cached_stamp, cached = _scope_cache
    if stamp is not None and stamp == cached_stamp and user_id in cached:
        return cached[user_id]
    roots = [a.area for a in AreaAssignment.objects.filter(user_id=user_id).select_related("area")]
    found = _areas_and_grids(roots)
    if stamp is None:  # no stamp row (a database being set up or flushed): never cached
        return found
    if stamp != cached_stamp or len(cached) >= _SCOPE_CACHE_SIZE:
        cached = {}
        _scope_cache = (stamp, cached)
    cached[user_id] = found
    return found


def grid_workers_of(*, grid: Area) -> list[AreaAssignment]:
    """Primary first, then backups: the people responsible for a grid."""
    rows = AreaAssignment.objects.filter(area=grid, user__role=Role.GRID_WORKER).select_related("user")
    return sorted(rows, key=lambda a: (a.kind != AssignmentKind.PRIMARY, a.user.username))


def display_names(user_ids: list[int]) -> dict[int, str]:
    """Names to show for users who acted (audit, case timelines): the display name, else the
    sign-in name. Not scoped: a name on a record the reader may already open."""
    rows = User.objects.filter(pk__in=user_ids).values_list("pk", "display_name", "username")
    return {pk: display or username for pk, display, username in rows}


def user_by_username(*, username: str) -> User | None:
    return User.objects.filter(username=username).first()


@dataclass
class AreaNode:
    """One area of a user's tree, with its children and, for a grid, its workers' names."""

    area: Area
    children: list[AreaNode] = field(default_factory=list)
    # Primary (A角) first, then backups (B角).
    grid_workers: list[str] = field(default_factory=list)


def area_tree_for_user(*, user: Principal) -> list[AreaNode]:
    """The areas the user may see as a forest rooted at their assigned areas, by code.

    A grid worker gets their grid(s); community staff their community; an auditor, who may
    not see the registry, gets nothing. Three queries whatever the tree size.
    """
    scope = scope_for(user)
    if not scope.area_ids or not scope.can(Permission.VIEW_REGISTRY):
        return []
    # Not the outlines: a street's 52 polygons were most of the bytes read, and the tree is
    # names and links (the grid page reads its own outline).
    areas = Area.objects.filter(pk__in=scope.area_ids).defer("boundary").order_by("code")
    nodes = {area.pk: AreaNode(area=area) for area in areas}
    roots: list[AreaNode] = []
    for node in nodes.values():
        parent = nodes.get(node.area.parent_id) if node.area.parent_id else None
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
    workers = AreaAssignment.objects.filter(
        area_id__in=scope.grid_ids, user__role=Role.GRID_WORKER, user__is_active=True,
    ).select_related("user")
    for assignment in sorted(workers, key=lambda a: (a.kind != AssignmentKind.PRIMARY, a.user.username)):
        nodes[assignment.area_id].grid_workers.append(str(assignment.user))
    return roots


def area_get_for_user(*, user: Principal, area_id: int) -> Area:
    """One area inside the user's scope; outside it (or unknown) is :class:`NotFound`."""
    scope = scope_for(user)
    if area_id not in scope.area_ids or not scope.can(Permission.VIEW_REGISTRY):
        raise NotFound(_("区域不存在"))
    return Area.objects.get(pk=area_id)


def login_wait(*, client: LoginClient, now: datetime | None = None) -> datetime | None:
    """Until when ``client`` is refused without its password being checked (too many recent
    failures); ``None`` when it may try. See ``LoginClient.gate_keys`` for which counters."""
    now = now or timezone.now()
    waits = [until for until in LoginThrottle.objects.filter(
        key__in=client.gate_keys(), locked_until__gt=now).values_list("locked_until", flat=True) if until]
    return max(waits, default=None)


# --- For the administration pages -------------------------------------------------------


def _manages(user: Principal, permission: str) -> AreaScope | None:
    scope = scope_for(user)
    return scope if isinstance(user, User) and scope.can(permission) else None


def user_list_for_user(
    *, user: Principal, q: str = "", role: str = "", department_id: int | None = None, active: bool | None = None,
) -> QuerySet[User]:
    """The accounts ``user`` may manage: none of their areas outside ``user``'s scope (an
    account bound nowhere yet included); superusers only for superusers. By username."""
    scope = _manages(user, Permission.MANAGE_ACCOUNTS)
    if scope is None:
        return User.objects.none()
    outside = AreaAssignment.objects.filter(user=OuterRef("pk")).exclude(area_id__in=sorted(scope.area_ids))
    rows = User.objects.filter(~Exists(outside)).select_related("department")
    if not getattr(user, "is_superuser", False):
        rows = rows.filter(is_superuser=False)
    if q:
        rows = rows.filter(Q(username__icontains=q) | Q(display_name__icontains=q))
    if role:
        rows = rows.filter(role=role)
    if department_id is not None:
        rows = rows.filter(department_id=department_id)
    if active is not None:
        rows = rows.filter(is_active=active)
    return rows.order_by("username")


def user_get_for_user(*, user: Principal, user_id: int) -> User:
    """One account ``user`` may manage; otherwise :class:`NotFound`."""
    found = user_list_for_user(user=user).filter(pk=user_id).first()
    if found is None:
        raise NotFound(_("账号不存在"))
    return found


def assignments_of(*, user: User) -> list[AreaAssignment]:
    """The account's areas, by area code (call after :func:`user_get_for_user`)."""
    return list(AreaAssignment.objects.filter(user=user).select_related("area").order_by("area__code"))


def areas_managed_by(*, user: Principal) -> list[Area]:
    """Every area of ``user``'s scope, by code, when they may manage accounts or areas (the
    choices of the administration forms); otherwise none."""
    scope = _manages(user, Permission.MANAGE_ACCOUNTS) or _manages(user, Permission.MANAGE_AREAS)
    if scope is None:
        return []
    return list(Area.objects.filter(pk__in=scope.area_ids).order_by("code"))


def area_get_for_manager(*, user: Principal, area_id: int) -> Area:
    """One area ``user`` may edit (``manage_areas`` and in scope); otherwise :class:`NotFound`."""
    scope = _manages(user, Permission.MANAGE_AREAS)
    if scope is None or area_id not in scope.area_ids:
        raise NotFound(_("区域不存在"))
    return Area.objects.select_related("parent").get(pk=area_id)


def department_list(*, active_only: bool = False) -> QuerySet[Department]:
    """Departments by name (reference data, the same for everyone)."""
    rows = Department.objects.order_by("-active", "name")
    return rows.filter(active=True) if active_only else rows


def department_get(*, department_id: int) -> Department:
    found = Department.objects.filter(pk=department_id).first()
    if found is None:
        raise NotFound(_("部门不存在"))
    return found
