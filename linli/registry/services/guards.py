"""What registry writes check before anything is written: the actor's scope, grids, points.

A user may write only inside their own grids and with ``EDIT_REGISTRY``; a target outside
them is refused as :class:`NotFound`, like a read of it. System actors (imports, demo
seeding, fusion, commands) are trusted callers and pass.
"""

from __future__ import annotations

import math
from typing import Final

from django.utils.translation import gettext as _

from linli.accounts.choices import Permission
from linli.accounts.models import User
from linli.accounts.selectors import scope_for
from linli.core.actors import Actor, SystemActor
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.geo.selectors import grid_locator
from linli.registry.models import Building, Household, Person, Room, Unit

# Mainland China with a margin (WGS-84): refuses swapped lon/lat and (0, 0).
CHINA_LON: Final = (73.0, 136.0)
CHINA_LAT: Final = (3.0, 54.0)


def validate_point(*, lon: float, lat: float) -> tuple[float, float]:
    """Refuse non-numeric, non-finite or out-of-China coordinates, naming ``lon`` / ``lat``."""
    checked: list[float] = []
    for field, value, (low, high) in (("lon", lon, CHINA_LON), ("lat", lat, CHINA_LAT)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValidationFailed(field, _("坐标不是数字")) from None
        if not math.isfinite(number):
            raise ValidationFailed(field, _("坐标不是有限数值"))
        if not low <= number <= high:
            raise ValidationFailed(field, _("坐标超出中国范围"))
        checked.append(number)
    return checked[0], checked[1]


_Target = Area | Building | Unit | Room | Household | Person


def _target_area(target: _Target) -> tuple[int | None, str]:
    """The area a write target lies in (its grid, or the chosen area itself) and how to say
    that it is out of reach."""
    if isinstance(target, Area):
        return target.pk, _("网格不存在或不在您的管辖范围内")
    if isinstance(target, Building):
        return target.grid_id, _("楼栋不存在或不在您的管辖范围内")
    if isinstance(target, Unit):
        return target.building.grid_id, _("楼栋不存在或不在您的管辖范围内")
    if isinstance(target, Room):
        return target.building.grid_id, _("房屋不存在或不在您的管辖范围内")
    if isinstance(target, Household):
        return target.grid_id, _("户不存在或不在您的管辖范围内")
    return target.grid_id, _("人员不存在或不在您的管辖范围内")


def _require_scope(actor: Actor, *targets: _Target | None) -> None:
    """Refuse a user without ``EDIT_REGISTRY`` or whose grids miss one of the targets."""
    if isinstance(actor, SystemActor):
        return
    # Anything else that is not a user (an API key) gets the empty scope: fail closed.
    scope = scope_for(actor if isinstance(actor, User) else None)
    if not scope.can(Permission.EDIT_REGISTRY):
        raise PermissionDenied(_("无权编辑实有人口房屋"))
    for target in targets:
        if target is None:
            continue
        area_id, missing = _target_area(target)
        if area_id is None or area_id not in scope.area_ids:
            raise NotFound(missing)


def _require_grid(grid: Area, *, field: str = "grid") -> None:
    if grid.level != AreaLevel.GRID:
        raise ValidationFailed(field, _("所选区域不是网格"))


def _locate_grid(*, lon: float, lat: float) -> Area | None:
    """The grid containing the point (a point on a shared edge goes to the locator's pick)."""
    grid_id = grid_locator().locate(lon, lat).grid_id
    return None if grid_id is None else Area.objects.filter(pk=grid_id).first()
