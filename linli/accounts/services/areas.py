"""The area tree as a district administrator edits it: the geo services, behind the check
that the person may manage areas and that every area touched lies in their scope.

A district administrator works inside their district: new streets, communities, zones and
grids under it, names and boundaries, moves and renumbering within it. An area file (GeoJSON
or CSV) may be loaded from a page too, for areas under the administrator's own; new districts
come from ``linli areas load`` or ``linli createadmin`` (system actors), not from a page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _

from linli.accounts.choices import Permission
from linli.accounts.models import User
from linli.accounts.selectors import AreaScope, scope_for
from linli.core.errors import NotFound, PermissionDenied
from linli.geo import services as geo
from linli.geo.area_files import AreaRow, RowProblem
from linli.geo.models import Area
from linli.geo.services import AreaLoadReport


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


def area_admin_load(*, actor: User, rows: Sequence[AreaRow], dry_run: bool = True) -> AreaLoadReport:
    """An area file loaded from the administration page: like ``linli areas load``, but only
    inside the actor's scope. A row with no parent (a new district) or whose parent or own
    area lies outside the scope is a problem of that row, so nothing is written; the file's
    other rows are checked as the command checks them."""
    scope = _scope(actor)
    codes = {r.code for r in rows} | {r.parent_code for r in rows if r.parent_code}
    known = dict(Area.objects.filter(code__in=codes).values_list("code", "pk"))
    in_file = {r.code for r in rows}
    problems: list[RowProblem] = []
    for row in rows:
        if not row.parent_code:
            problems.append(RowProblem(row.where, "parent_code", _("页面上不能新建最上级区域;请用命令 linli areas load")))
        elif row.code in known and known[row.code] not in scope.area_ids:
            problems.append(RowProblem(row.where, "code", _("区域%(code)s不在您的管辖范围内") % {"code": row.code}))
        elif row.parent_code not in in_file and row.parent_code in known and known[row.parent_code] not in scope.area_ids:
            problems.append(RowProblem(row.where, "parent_code",
                                       _("上级区域%(code)s不在您的管辖范围内") % {"code": row.parent_code}))
    report = geo.area_tree_load(actor=actor, rows=rows, dry_run=dry_run or bool(problems))
    report.problems = problems + report.problems
    return report
