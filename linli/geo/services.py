"""Writes of the geo app: creating areas and changing their boundaries, audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from linli.core.actors import Actor
from linli.core.errors import ErrorCode, ValidationFailed
from linli.core.services import audit_record
from linli.geo import workflow
from linli.geo.models import Area

AREA = "geo.area"


def _boundary_columns(boundary: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validated boundary plus its centroid columns (all ``None`` when there is none)."""
    if boundary is None:
        return {"boundary": None, "centroid_lon": None, "centroid_lat": None}
    clean = workflow.validate_boundary(boundary)
    lon, lat = workflow.boundary_centroid(clean)
    return {"boundary": clean, "centroid_lon": lon, "centroid_lat": lat}


def area_create(
    *,
    actor: Actor,
    level: int,
    code: str,
    name: str,
    parent: Area | None,
    boundary: Mapping[str, Any] | None = None,
) -> Area:
    """Add one node to the area tree; everything is checked before anything is written."""
    area_level = workflow.parse_level(level)
    workflow.validate_parent_level(level=area_level, parent_level=parent.level if parent else None)
    code = workflow.validate_area_code(
        level=area_level, code=code, parent_level=parent.level if parent else None,
        parent_code=parent.code if parent else None,
    )
    name = name.strip()
    if not name:
        raise ValidationFailed("name", _("名称不能为空"))
    if len(name) > Area._meta.get_field("name").max_length:  # type: ignore[operator]
        raise ValidationFailed("name", _("名称过长"))
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
