"""Dashboard, area tree and grid pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.staticfiles import finders
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from linli.accounts.choices import Permission, Role
from linli.accounts.models import User
from linli.accounts.selectors import (
    AreaNode,
    area_get_for_user,
    area_tree_for_user,
    grid_workers_of,
    scope_for,
)
from linli.care.selectors import today_for_user
from linli.cases.selectors import case_inbox_for_user
from linli.catalogue.views.access import CATALOGUE_ROLES
from linli.fusion.selectors import verification_tasks_first_open, verification_tasks_for_user
from linli.fusion.views.access import TASK_ROLES
from linli.registry.choices import TagKind
from linli.registry.selectors import (
    ELDER_AGE,
    building_list_for_user,
    facility_list_for_user,
    organisation_list_for_user,
    registry_counts_for_user,
)
from linli.registry.text import natural_key
from linli.web.access import StaffRequest, can_view_audit, staff_required

# Order and wording of the dashboard figures; unknown keys from the selector still show.
COUNT_LABELS: dict[str, Promise] = {
    "persons": _("实有人口"),
    "households": _("户数"),
    "buildings": _("楼栋"),
    "rooms": _("房屋"),
    "elders": _("60岁以上老人"),
    "organisations": _("单位"),
    "facilities": _("设施"),
    "unplaced": _("待落位人员"),
}
TAG_PREFIX = "tag:"
MAX_GRID_LINKS = 12
# Days of patrol tracks on a grid's map (the field app's tracks.json, ?days=).
GRID_TRACK_DAYS = 7


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: int
    url: str = ""


def _list_url(**filters: object) -> str:
    return f"{reverse('web:persons')}?{urlencode(filters)}"


# Figures that open the person list (the others count places, not people).
FIGURE_LISTS: dict[str, dict[str, object]] = {"persons": {}, "elders": {"age_min": ELDER_AGE}}


def _figure_url(key: str) -> str:
    if key == "unplaced":
        return reverse("web:unplaced")
    return _list_url(**FIGURE_LISTS[key]) if key in FIGURE_LISTS else ""


def _figures(counts: dict[str, int]) -> tuple[list[Figure], list[Figure]]:
    """Split the selector's counts into main figures and key-population figures."""
    main = [Figure(k, str(label), counts[k], _figure_url(k)) for k, label in COUNT_LABELS.items() if k in counts]
    tags: list[Figure] = []
    for key, value in counts.items():
        kind = key.removeprefix(TAG_PREFIX)
        if kind in TagKind.values:
            tags.append(Figure(key, str(TagKind(kind).label), value, _list_url(tag=kind)))
        elif key not in COUNT_LABELS:
            main.append(Figure(key, key, value))
    return main, tags


def _grids(nodes: list[AreaNode]) -> list[AreaNode]:
    found: list[AreaNode] = []
    for node in nodes:
        if node.area.is_grid:
            found.append(node)
        found.extend(_grids(node.children))
    return found


WORK_SHOWN = 5


@dataclass(frozen=True)
class WorkList:
    """One kind of work on the home page: the first few items and where the rest are."""

    key: str
    title: str
    items: list[Any]
    more: bool
    url: str


def _work(user: User) -> list[WorkList]:
    """What the user must do now, before any statistics: cases to act on, verification tasks
    and visits due in the user's grids (each list only where the role has such work)."""
    lists: list[WorkList] = []
    if user.role in CATALOGUE_ROLES:
        cases = case_inbox_for_user(user=user, limit=WORK_SHOWN + 1)
        lists.append(WorkList("cases", str(_("待办事件")), cases[:WORK_SHOWN], len(cases) > WORK_SHOWN,
                              reverse("cases:inbox")))
    if user.role in TASK_ROLES:
        tasks = verification_tasks_first_open(verification_tasks_for_user(user=user), limit=WORK_SHOWN + 1)
        lists.append(WorkList("tasks", str(_("核实任务")), tasks[:WORK_SHOWN], len(tasks) > WORK_SHOWN,
                              reverse("fusion:tasks")))
    if user.role == Role.GRID_WORKER:
        due = today_for_user(user=user, limit=WORK_SHOWN + 1).due_visits
        lists.append(WorkList("visits", str(_("应走访")), due[:WORK_SHOWN], len(due) > WORK_SHOWN,
                              reverse("care:today")))
    return lists


@staff_required
def home(request: StaffRequest) -> HttpResponse:
    user = request.user
    if user.role == Role.AUDITOR:
        return redirect("web:audit")
    work = _work(user)
    main, tags = _figures(registry_counts_for_user(user=user))
    grids = _grids(area_tree_for_user(user=user))
    return render(request, "web/home.html", {
        "work": work,
        "figures": main,
        "tag_figures": tags,
        "grids": grids[:MAX_GRID_LINKS],
        "more_grids": len(grids) > MAX_GRID_LINKS,
        "show_audit": can_view_audit(user),
    })


@staff_required
def areas(request: StaffRequest) -> HttpResponse:
    return render(request, "web/areas.html", {"nodes": area_tree_for_user(user=request.user)})


@staff_required
def grid(request: StaffRequest, grid_id: int) -> HttpResponse:
    user = request.user
    area = area_get_for_user(user=user, area_id=grid_id)
    if not area.is_grid:
        raise Http404
    # Living residents per building, for the list; the selector decides which buildings.
    buildings = sorted(building_list_for_user(user=user, grid_id=area.pk).annotate(
        resident_count=Count("residents", filter=Q(residents__is_deceased=False)),
    ), key=lambda b: natural_key(b.address))  # 1幢 < 2幢 < 10幢
    return render(request, "web/grid.html", {
        "grid": area,
        "workers": grid_workers_of(grid=area),
        "buildings": buildings,
        "organisation_count": organisation_list_for_user(user=user, grid_id=area.pk).count(),
        "facility_count": facility_list_for_user(user=user, grid_id=area.pk).count(),
        # The grid's outline; its buildings and neighbours come from the shared base map.
        "map_data": {"boundary": area.boundary, "name": area.name},
        "has_leaflet": finders.find("vendor/leaflet/leaflet.js") is not None,
        "can_export": scope_for(user).can(Permission.EXPORT_REGISTRY),
        # Patrol tracks on the map: a week shows who walks where without crowding the grid.
        "track_days": GRID_TRACK_DAYS,
    })
