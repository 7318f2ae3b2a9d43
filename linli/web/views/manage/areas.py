"""The area tree: browse it, add areas under an area, rename and redraw, move or renumber.
Codes and polygons are checked by ``linli.geo.workflow`` inside the services."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from linli.accounts import services
from linli.accounts.access import StaffRequest, request_id_of
from linli.accounts.selectors import area_get_for_manager, areas_managed_by
from linli.geo.area_files import MAX_BYTES, read_area_file
from linli.geo.choices import ALLOWED_PARENT_LEVELS, AreaLevel
from linli.geo.services import AreaLoadReport
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


# A previewed file waits here for "apply" (area files hold no personal data); one day at most.
_PENDING_SECONDS = 24 * 3600
_SESSION_KEY = "manage_area_file"


class AreaFileForm(forms.Form):
    file = forms.FileField(label=_("区域文件"), help_text=_("GeoJSON(FeatureCollection)或CSV:编码、名称、上级编码、层级、边界(可选)"))


def _pending_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "uploads" / "area-files"
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - _PENDING_SECONDS
    for old in folder.glob("*.bin"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    return folder


def _load(request: StaffRequest, *, name: str, data: bytes, dry_run: bool) -> AreaLoadReport:
    """Read the file and load it (a file with unreadable rows is only checked)."""
    parsed = read_area_file(name=name, data=data)
    report = services.area_admin_load(actor=request.user, rows=parsed.rows, dry_run=dry_run or bool(parsed.problems))
    report.problems = list(parsed.problems) + report.problems
    return report


@admin_required
@require_http_methods(["GET", "POST"])
def areas_load(request: StaffRequest) -> HttpResponse:
    """Load an area file under the administrator's areas: upload → what would change (nothing
    written) → apply. The previewed bytes are kept under a token only this session knows, so
    what is applied is exactly what was shown."""
    form = AreaFileForm()
    report, name = None, ""
    if request.method == "POST" and request.POST.get("form") == "apply":
        pending = request.session.get(_SESSION_KEY) or {}
        path = _pending_dir() / f"{pending.get('token', '-')}.bin"
        if pending.get("token") != request.POST.get("token") or not path.is_file():
            messages.error(request, _("预览已失效,请重新上传文件。"))
            return redirect("web:manage-areas-load")
        name = str(pending.get("name", ""))
        report = _load(request, name=name, data=path.read_bytes(), dry_run=False)
        if not report.problems:
            path.unlink(missing_ok=True)
            del request.session[_SESSION_KEY]
            messages.success(request, _("已导入 %(name)s:新建 %(created)d 个,修改 %(changed)d 个,未变 %(unchanged)d 个。") % {
                "name": name, "created": len(report.created), "changed": len(report.changed),
                "unchanged": report.unchanged})
            return redirect("web:manage-areas")
    elif request.method == "POST":
        form = AreaFileForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_BYTES:
                form.add_error("file", _("文件过大(上限50 MB)"))
            else:
                name, data = upload.name, upload.read()
                report = _load(request, name=name, data=data, dry_run=True)
                if not report.problems:
                    token = secrets.token_urlsafe(16)
                    (_pending_dir() / f"{token}.bin").write_bytes(data)
                    request.session[_SESSION_KEY] = {"token": token, "name": name}
    pending = request.session.get(_SESSION_KEY) or {}
    return render(request, "web/manage/areas_load.html", {
        "form": form, "report": report, "name": name,
        "token": pending.get("token", "") if report is not None and not report.problems else ""})
