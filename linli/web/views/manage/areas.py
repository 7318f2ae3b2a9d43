"""The area tree: browse it, add areas under an area, rename and redraw, move or renumber.
Codes and polygons are checked by ``linli.geo.workflow`` inside the services."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from linli.accounts import services
from linli.accounts.access import StaffRequest, request_id_of
from linli.accounts.selectors import area_get_for_manager, areas_managed_by
from linli.geo.choices import ALLOWED_PARENT_LEVELS, AreaLevel
from linli.web.manage_forms import AreaCreateForm, AreaEditForm, AreaMoveForm
from linli.web.views.manage import admin_required, submit


@admin_required
@require_GET
def areas(request: StaffRequest) -> HttpResponse:
    rows = areas_managed_by(user=request.user)
    return render(request, "web/manage/areas.html", {"areas": rows})


@admin_required
@require_http_methods(["GET", "POST"])
def area(request: StaffRequest, area_id: int) -> HttpResponse:
    """One area: rename/redraw, move or renumber, and add an area under it."""
    found = area_get_for_manager(user=request.user, area_id=area_id)
    managed = areas_managed_by(user=request.user)
    rid = request_id_of(request)
    child_levels = [level for level in AreaLevel if found.level in ALLOWED_PARENT_LEVELS[level]]
    edit = AreaEditForm(initial={"name": found.name, "boundary": found.boundary})
    # A new parent must take the area's level; the area and its subtree are no candidates.
    parents = [a for a in managed if a.level in ALLOWED_PARENT_LEVELS[found.level]
               and not a.path.startswith(found.path)]
    move = AreaMoveForm(initial={"parent": found.parent_id, "code": found.code}, areas=parents)
    child = AreaCreateForm(initial={"level": child_levels[0].value if child_levels else None})
    child.fields["level"].choices = [(level.value, level.label) for level in child_levels]  # type: ignore[attr-defined]
    action = request.POST.get("form", "")
    if request.method == "POST":
        done = None
        if action == "edit":
            edit = AreaEditForm(request.POST)
            if edit.is_valid():
                done = submit(edit, lambda: services.area_admin_update(
                    actor=request.user, area=found, name=edit.cleaned_data["name"],
                    boundary=edit.cleaned_data["boundary"], request_id=rid))
        elif action == "move":
            move = AreaMoveForm(request.POST, areas=parents)
            if move.is_valid():
                done = submit(move, lambda: services.area_admin_move(
                    actor=request.user, area=found, parent=move.cleaned_data["parent"],
                    code=move.cleaned_data["code"], request_id=rid))
        elif action == "child":
            child = AreaCreateForm(request.POST)
            child.fields["level"].choices = [(level.value, level.label) for level in child_levels]  # type: ignore[attr-defined]
            if child.is_valid():
                data = child.cleaned_data
                created = submit(child, lambda: services.area_admin_create(
                    actor=request.user, parent=found, level=data["level"], code=data["code"], name=data["name"],
                    boundary=data["boundary"], request_id=rid))
                if created is not None:
                    messages.success(request, _("已新建 %(name)s。") % {"name": created.name})
                    return redirect("web:manage-area", area_id=created.pk)
        if done is not None:
            messages.success(request, _("已保存。"))
            return redirect("web:manage-area", area_id=found.pk)
    return render(request, "web/manage/area.html", {
        "area": found, "edit": edit, "move": move, "child": child, "can_add_child": bool(child_levels),
        "can_move": found.parent_id is not None and any(a.pk == found.parent_id for a in managed),
        "children": [a for a in managed if a.parent_id == found.pk],
    })
