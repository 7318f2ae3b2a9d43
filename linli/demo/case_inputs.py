"""What the demo's case history reads from the database: the active 小类 with their
departments, and the grids with their grid workers and the buildings a case can be at."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment, Department
from linli.cases.models import Category
from linli.demo.case_texts import Place
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.registry.models import Building

_ADDRESS: Final = re.compile(r"^(?:杭州市上城区)?(?P<road>.+?(?:路|街|直街))(?P<no>\d+)号")


@dataclass(frozen=True)
class HistoryCategory:
    """What the generator needs of a 小类."""

    id: int
    code: str
    name: str
    major_code: str
    level: int
    handle_amount: int
    handle_unit: str
    department_id: int | None
    department_name: str = ""


@dataclass(frozen=True)
class HistoryGrid:
    """A grid cases are reported in: id, name, centroid, its primary grid worker and the
    buildings cases can be located at."""

    id: int
    name: str
    lon: float | None
    lat: float | None
    worker_id: int | None
    worker_name: str = ""
    places: tuple[Place, ...] = ()


def _places(grid_ids: list[int]) -> dict[int, tuple[Place, ...]]:
    """The buildings of each grid as places a case can be at (road and number from the address)."""
    out: dict[int, list[Place]] = {}
    rows = Building.objects.filter(grid_id__in=grid_ids).order_by("grid_id", "id").values_list(
        "grid_id", "compound", "name", "address", "lon", "lat")
    for grid_id, compound, name, address, lon, lat in rows:
        match = _ADDRESS.match(address or "")
        road, number = (match.group("road"), match.group("no")) if match else ("", "")
        out.setdefault(grid_id, []).append(Place(compound, name, road, number, lon, lat))
    return {grid_id: tuple(places) for grid_id, places in out.items()}


def history_inputs(*, area: Area | None = None) -> tuple[list[HistoryCategory], list[HistoryGrid]]:
    """Active 小类 and the grids under ``area`` (all grids without it) with their workers."""
    departments = dict(Department.objects.values_list("pk", "name"))
    categories = [
        HistoryCategory(id=c.pk, code=c.code, name=c.name, major_code=c.parent.code if c.parent else c.code,
                        level=c.default_level, handle_amount=c.handle_amount, handle_unit=c.handle_unit,
                        department_id=c.department_id, department_name=departments.get(c.department_id or 0, ""))
        for c in Category.objects.filter(parent__isnull=False, active=True).select_related("parent").order_by("code")
    ]
    grids_qs = Area.objects.filter(level=AreaLevel.GRID)
    if area is not None:
        grids_qs = grids_qs.filter(path__startswith=area.path)
    workers = {area_id: (user_id, display or username) for area_id, user_id, display, username in
               AreaAssignment.objects.filter(
                   kind=AssignmentKind.PRIMARY, user__role=Role.GRID_WORKER, area__level=AreaLevel.GRID,
               ).values_list("area_id", "user_id", "user__display_name", "user__username")}
    rows = list(grids_qs.order_by("code").values_list("pk", "name", "centroid_lon", "centroid_lat"))
    places = _places([pk for pk, *_rest in rows])
    grids = [HistoryGrid(id=pk, name=name, lon=lon, lat=lat, worker_id=workers.get(pk, (None, ""))[0],
                         worker_name=workers.get(pk, (None, ""))[1], places=places.get(pk, ()))
             for pk, name, lon, lat in rows]
    return categories, grids
