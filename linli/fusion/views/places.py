"""Place proposals (issue 17, cause 5): the buildings and rooms named by the addresses an
import kept for persons no room places yet, for a clerk to accept into the place registry."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from linli.core.errors import ApplicationError
from linli.fusion import selectors, services
from linli.fusion.views.access import PLACE_ROLES, StaffRequest, request_id_of, staff_view
from linli.fusion.views.context import fusion_context
from linli.geo.models import Area
from linli.registry.selectors import registry_scope

SHOWN = 100


def _number(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


@staff_view(PLACE_ROLES)
@require_http_methods(["GET", "POST"])
def place_proposals(request: StaffRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        grid = request.POST.get("grid", "")
        try:
            done = services.place_proposal_accept(
                actor=request.user,
                key=request.POST.get("key", ""),
                grid_id=int(grid) if grid.isdigit() else None,
                lon=_number(request.POST.get("lon")),
                lat=_number(request.POST.get("lat")),
                request_id=request_id_of(request),
            )
        except ApplicationError as exc:
            error = str(exc.message)
        else:
            messages.success(
                request,
                _("已建档:新建房屋 %(rooms)s 间,落位 %(placed)s 人。")
                % {"rooms": done.rooms_created, "placed": done.placed},
            )
            return redirect("fusion:places")
    proposals = selectors.place_proposals_for_user(user=request.user)
    grids = Area.objects.filter(pk__in=sorted(registry_scope(request.user).grid_ids)).order_by(
        "code"
    )
    return render(
        request,
        "fusion/places.html",
        {
            **fusion_context(request.user, "places"),
            "proposals": proposals[:SHOWN],
            "total": len(proposals),
            "grids": grids,
            "error": error,
        },
        status=400 if error else 200,
    )
