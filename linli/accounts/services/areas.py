"""The area tree as a district administrator edits it: the geo services, behind the check
that the person may manage areas and that every area touched lies in their scope.

A district administrator works inside their district: new streets, communities, zones and
grids under it, names and boundaries, moves and renumbering within it. New districts come
from ``linli areas load`` or ``linli createadmin`` (system actors), not from a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from linli.accounts.choices import Permission
from linli.accounts.models import User
from linli.accounts.selectors import AreaScope, scope_for
from linli.core.errors import NotFound, PermissionDenied
from linli.geo import services as geo
from linli.geo.models import Area


def _scope(actor: User) -> AreaScope:
    scope = scope_for(actor)
    if not scope.can(Permission.MANAGE_AREAS):
        raise PermissionDenied(_("无权管理区域网格"))
    return scope


def _inside(scope: AreaScope, *areas: Area | None) -> None:
    if any(area is None or area.pk not in scope.area_ids for area in areas):
        raise NotFound(_("区域不存在"))


def area_admin_create(
    *, actor: User, parent: Area, level: int, code: str, name: str,
    boundary: Mapping[str, Any] | None = None, request_id: str = "",
) -> Area:
    """A new area under ``parent`` (which must be in the actor's scope)."""
    _inside(_scope(actor), parent)
    return geo.area_create(actor=actor, level=level, code=code, name=name, parent=parent, boundary=boundary,
                           request_id=request_id)


def area_admin_update(
    *, actor: User, area: Area, name: str, boundary: Mapping[str, Any] | None, request_id: str = "",
) -> Area:
    """Rename an area of the actor's scope and set or clear its boundary."""
    _inside(_scope(actor), area)
    return geo.area_update(actor=actor, area=area, name=name, boundary=boundary, request_id=request_id)


def area_admin_move(
    *, actor: User, area: Area, parent: Area, code: str, request_id: str = "",
) -> Area:
    """Move an area with its subtree under another parent of the actor's scope (or give it a
    new code under the same one). The top of the actor's scope itself does not move."""
    scope = _scope(actor)
    _inside(scope, area, parent)
    if area.parent_id is None or area.parent_id not in scope.area_ids:
        raise PermissionDenied(_("不能移动您管辖范围的最上级区域"))
    return geo.area_move(actor=actor, area=area, parent=parent, code=code, request_id=request_id)
