"""The halls' service windows: the district administrator creates and changes them; street
staff read their street's."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from linli.accounts.access import StaffRequest, request_id_of, staff_view
from linli.accounts.choices import Role
from linli.accounts.selectors import areas_managed_by
from linli.catalogue.selectors import WINDOW_ADMIN_ROLES, window_get_for_user, window_list_for_user
from linli.catalogue.services import window_create, window_update
from linli.web.manage_forms import WindowForm, format_opening_hours
from linli.web.views.manage import admin_required, submit


@staff_view(roles=WINDOW_ADMIN_ROLES)
@require_GET
def windows(request: StaffRequest) -> HttpResponse:
    return render(request, "web/manage/windows.html", {
        "windows": window_list_for_user(user=request.user), "can_edit": request.user.role == Role.DISTRICT_ADMIN})


@admin_required
@require_http_methods(["GET", "POST"])
def window(request: StaffRequest, window_id: int | None = None) -> HttpResponse:
    """A new window (no ``window_id``) or one to change."""
    found = window_get_for_user(user=request.user, window_id=window_id) if window_id else None
    initial: dict[str, Any] = {"active": True, "opening_hours": "1-5 08:30-11:30 13:30-17:00"}
    if found is not None:
        initial = {"name": found.name, "opening_hours": format_opening_hours(found.opening_hours),
                   "slot_minutes": found.slot_minutes, "capacity_per_slot": found.capacity_per_slot,
                   "items": list(found.items.all()), "active": found.active}
    form = WindowForm(request.POST or None, initial=initial, areas=areas_managed_by(user=request.user),
                      creating=found is None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        rid = request_id_of(request)
        saved = submit(form, lambda: window_update(
            actor=request.user, window=found, name=data["name"], opening_hours=data["opening_hours"],
            slot_minutes=data["slot_minutes"], capacity_per_slot=data["capacity_per_slot"],
            items=list(data["items"]), active=data["active"], request_id=rid) if found is not None else window_create(
            actor=request.user, code=data["code"], name=data["name"], community=data["community"],
            opening_hours=data["opening_hours"], slot_minutes=data["slot_minutes"],
            capacity_per_slot=data["capacity_per_slot"], items=list(data["items"]), request_id=rid))
        if saved is not None:
            messages.success(request, _("已保存窗口 %(name)s。") % {"name": saved.name})
            return redirect("web:manage-windows")
    return render(request, "web/manage/window.html", {"window": found, "form": form})
