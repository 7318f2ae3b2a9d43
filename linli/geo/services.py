"""Writes of the geo app: creating, renaming, re-bounding and moving areas, audited.

These do not check who may write: callers that answer a person go through
``linli.accounts.services`` (scope and permission first); commands act as system actors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.actors import Actor
from linli.core.errors import ApplicationError, ErrorCode, ValidationFailed
from linli.core.services import audit_record, audit_record_many
from linli.geo import workflow
from linli.geo.area_files import AreaRow, RowProblem
from linli.geo.choices import AreaLevel
from linli.geo.models import Area, Road
from linli.geo.road_files import RoadRow
from linli.geo.selectors import grid_locator_reset

AREA = "geo.area"


def _boundary_columns(boundary: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validated boundary plus its centroid columns (all ``None`` when there is none)."""
    if boundary is None:
        return {"boundary": None, "centroid_lon": None, "centroid_lat": None}
    clean = workflow.validate_boundary(boundary)
    lon, lat = workflow.boundary_centroid(clean)
    return {"boundary": clean, "centroid_lon": lon, "centroid_lat": lat}


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationFailed("name", _("名称不能为空"))
    if len(name) > Area._meta.get_field("name").max_length:  # type: ignore[operator]
        raise ValidationFailed("name", _("名称过长"))
    return name


def area_create(
    *,
    actor: Actor,
    level: int,
    code: str,
    name: str,
    parent: Area | None,
    boundary: Mapping[str, Any] | None = None,
    request_id: str = "",
) -> Area:
    """Add one node to the area tree; everything is checked before anything is written."""
    area_level = workflow.parse_level(level)
    workflow.validate_parent_level(level=area_level, parent_level=parent.level if parent else None)
    code = workflow.validate_area_code(
        level=area_level, code=code, parent_level=parent.level if parent else None,
        parent_code=parent.code if parent else None,
    )
    name = _clean_name(name)
    columns = _boundary_columns(boundary)
    with transaction.atomic():
        if Area.objects.filter(code=code).exists():
            raise ValidationFailed("code", _("编码已被使用"), code=ErrorCode.CONFLICT)
        area = Area.objects.create(level=area_level, code=code, name=name, parent=parent, path="", **columns)
        area.path = f"{parent.path if parent else '/'}{area.pk}/"
        area.save(update_fields=["path"])
        audit_record(
            actor=actor, action="area.create", target_type=AREA, target_id=area.pk,
            fields=["level", "code", "name", "parent", "path", *(k for k, v in columns.items() if v is not None)],
            request_id=request_id,
        )
    return area


def area_update_boundary(*, actor: Actor, area: Area, boundary: Mapping[str, Any] | None) -> Area:
    """Replace (or clear, with ``None``) an area's boundary and its centroid."""
    columns = _boundary_columns(boundary)
    with transaction.atomic():
        locked = Area.objects.select_for_update().get(pk=area.pk)
        for key, value in columns.items():
            setattr(locked, key, value)
        locked.save(update_fields=[*columns, "updated_at"])
        audit_record(
            actor=actor, action="area.update_boundary", target_type=AREA, target_id=locked.pk,
            fields=list(columns),
        )
    for key, value in columns.items():
        setattr(area, key, value)
    area.updated_at = locked.updated_at
    return area


def area_update(
    *, actor: Actor, area: Area, name: str, boundary: Mapping[str, Any] | None, request_id: str = "",
) -> Area:
    """Rename an area and set (or, with ``None``, clear) its boundary; only what differs is
    written and audited."""
    name = _clean_name(name)
    columns = _boundary_columns(boundary)
    with transaction.atomic():
        locked = Area.objects.select_for_update().get(pk=area.pk)
        changed = {"name": name} if locked.name != name else {}
        if locked.boundary != columns["boundary"]:
            changed.update(columns)
        if changed:
            for key, value in changed.items():
                setattr(locked, key, value)
            locked.save(update_fields=[*changed, "updated_at"])
            audit_record(actor=actor, action="area.update", target_type=AREA, target_id=locked.pk,
                         fields=sorted(changed), request_id=request_id)
    if "boundary" in changed:
        transaction.on_commit(grid_locator_reset)
    return locked


def _moved_code(code: str, *, level: int, old: str, new: str) -> str:
    """A descendant's code after its ancestor's code went from ``old`` to ``new``: codes
    begin with their ancestors' codes, except a zone's grids, which carry the community's."""
    prefix_old, prefix_new = (old, new) if level != AreaLevel.ZONE else (old[:12], new[:12])
    return prefix_new + code[len(prefix_old):] if code.startswith(prefix_old) else code


def area_move(
    *, actor: Actor, area: Area, parent: Area | None, code: str, request_id: str = "",
) -> Area:
    """Put an area under another parent (or renumber it under the same one) with its whole
    subtree: every path below changes, and every code below that begins with the area's code
    follows the new code. Everything is checked before anything is written.

    Statistics of past cases keep the areas the cases were counted under; run
    ``linli_cases_rollup_rebuild`` to count them under the new tree.
    """
    level = workflow.parse_level(area.level)
    workflow.validate_parent_level(level=level, parent_level=parent.level if parent else None)
    new_code = workflow.validate_area_code(
        level=level, code=code, parent_level=parent.level if parent else None,
        parent_code=parent.code if parent else None,
    )
    with transaction.atomic():
        locked = Area.objects.select_for_update().get(pk=area.pk)
        if parent is not None and (parent.pk == locked.pk or parent.path.startswith(locked.path)):
            raise ValidationFailed("parent", _("不能移到自身或其下级区域之下"))
        old_code, old_path = locked.code, locked.path
        new_path = f"{parent.path if parent else '/'}{locked.pk}/"
        if new_code == old_code and new_path == old_path:
            return locked
        now = timezone.now()
        below = list(Area.objects.select_for_update().filter(path__startswith=old_path).exclude(pk=locked.pk))
        for child in below:
            child.path = new_path + child.path[len(old_path):]
            child.code = _moved_code(child.code, level=level, old=old_code, new=new_code)
            child.updated_at = now
        moved_ids = [locked.pk, *(c.pk for c in below)]
        new_codes = [new_code, *(c.code for c in below)]
        taken = Area.objects.filter(code__in=new_codes).exclude(pk__in=moved_ids).values_list("code", flat=True).first()
        if taken is not None:
            raise ValidationFailed("code", _("编码%(code)s已被使用") % {"code": taken}, code=ErrorCode.CONFLICT)
        locked.parent, locked.code, locked.path = parent, new_code, new_path
        locked.save(update_fields=["parent", "code", "path", "updated_at"])
        if below:
            Area.objects.bulk_update(below, ["path", "code", "updated_at"], batch_size=500)
        audit_record(actor=actor, action="area.move", target_type=AREA, target_id=locked.pk,
                     fields=["parent", "code", "path"], reason=f"below={len(below)}", request_id=request_id)
        if below:
            audit_record_many(actor=actor, action="area.move", target_type=AREA,
                              targets=[(c.pk, ["code", "path"]) for c in below], request_id=request_id)
    transaction.on_commit(grid_locator_reset)
    return locked


@dataclass
class AreaLoadReport:
    """What a load did (or, in a dry run, would do): new areas, changed areas with the fields
    that change, the count left as they were, and the problems that stopped it."""

    created: list[AreaRow] = field(default_factory=list)
    changed: list[tuple[AreaRow, list[str]]] = field(default_factory=list)
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def _plan_row(row: AreaRow, *, parent: Area | AreaRow | None, existing: Area | None) -> list[str]:
    """Check one row against its parent and the area of the same code; the fields an update
    would change (empty: nothing to do, or a new area)."""
    workflow.validate_parent_level(level=row.level, parent_level=parent.level if parent else None)
    workflow.validate_area_code(level=row.level, code=row.code, parent_level=parent.level if parent else None,
                                parent_code=parent.code if parent else None)
    _clean_name(row.name)
    if existing is None:
        return []
    if existing.level != row.level:
        raise ValidationFailed("level", _("与已有区域%(code)s的层级不同") % {"code": existing.code})
    existing_parent_code = existing.parent.code if existing.parent else ""
    if existing_parent_code != (parent.code if parent else ""):
        raise ValidationFailed("parent_code", _("已有区域%(code)s的上级是%(parent)s;移动区域请在区域管理页面操作")
                               % {"code": existing.code, "parent": existing_parent_code or "-"})
    changes = ["name"] if existing.name != row.name else []
    if row.boundary is not None and existing.boundary != row.boundary:
        changes.append("boundary")
    return changes


def area_tree_load(*, actor: Actor, rows: Sequence[AreaRow], dry_run: bool = False) -> AreaLoadReport:
    """Create or update the areas of a file, parents before children; idempotent (a second
    load of the same file changes nothing). Areas are matched by code; a row without a
    boundary leaves an existing boundary alone. Every row is checked first, against the file
    and the database: one problem and nothing is written (all rows or none, in one
    transaction); ``dry_run`` only reports."""
    report = AreaLoadReport(dry_run=dry_run)
    ordered = sorted(rows, key=lambda r: (r.level, r.code))
    in_file: dict[str, AreaRow] = {}
    for row in ordered:
        if row.code in in_file:
            report.problems.append(RowProblem(row.where, "code", _("编码与%(where)s重复") % {"where": in_file[row.code].where}))
        in_file.setdefault(row.code, row)
    wanted = {r.code for r in ordered} | {r.parent_code for r in ordered if r.parent_code}
    existing = {a.code: a for a in Area.objects.filter(code__in=wanted).select_related("parent")}
    plan: list[tuple[AreaRow, list[str]]] = []
    for row in in_file.values():
        parent: Area | AreaRow | None = None
        if row.parent_code:
            parent = in_file.get(row.parent_code) or existing.get(row.parent_code)
            if parent is None:
                report.problems.append(RowProblem(row.where, "parent_code", _("上级编码%(code)s既不在文件中也不在系统中")
                                                  % {"code": row.parent_code}))
                continue
        try:
            plan.append((row, _plan_row(row, parent=parent, existing=existing.get(row.code))))
        except ApplicationError as error:
            report.problems.append(RowProblem(row.where, error.field or "-", error.message))
    for row, changes in plan:
        if row.code not in existing:
            report.created.append(row)
        elif changes:
            report.changed.append((row, changes))
        else:
            report.unchanged += 1
    if report.problems or dry_run:
        return report
    with transaction.atomic():
        for row in report.created:
            parent_area = existing.get(row.parent_code) if row.parent_code else None
            existing[row.code] = area_create(actor=actor, level=row.level, code=row.code, name=row.name,
                                             parent=parent_area, boundary=row.boundary)
        for row, _changes in report.changed:
            area = existing[row.code]
            area_update(actor=actor, area=area, name=row.name,
                        boundary=row.boundary if row.boundary is not None else area.boundary)
    return report


ROAD = "geo.road"


def roads_replace(*, actor: Actor, source: str, roads: Sequence[RoadRow]) -> int:
    """Replace the roads of ``source`` (``demo``, a file's name) with ``roads``; audited.

    Loading the same file twice leaves the same roads; roads of other sources stay. The
    geometries are clean already (:func:`linli.geo.workflow.validate_road_geometry`).
    """
    rows = []
    for road in roads:
        west, south, east, north = workflow.line_bbox(road.geometry)
        rows.append(Road(name=road.name, geometry=road.geometry, source=source,
                         min_lon=west, min_lat=south, max_lon=east, max_lat=north))
    with transaction.atomic():
        removed, _by_model = Road.objects.filter(source=source).delete()
        Road.objects.bulk_create(rows, batch_size=500)
        audit_record(actor=actor, action="road.load", target_type=ROAD, target_id=source[:64],
                     fields=["name", "geometry"], reason=f"removed={removed} loaded={len(rows)}")
    return len(rows)
