"""Fusion pages (一库对应多条线): sources, the import wizard and reports, the review queue,
splits, the provenance panel of a person and the grid workers' verification tasks."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from linli.fusion.views.access import IMPORT_ROLES, TASK_ROLES, StaffRequest, staff_view


@staff_view(TASK_ROLES | IMPORT_ROLES)
@require_GET
def home(request: StaffRequest) -> HttpResponse:
    """Importers land on their imports; grid workers and community staff on their tasks."""
    return redirect("fusion:jobs" if request.user.role in IMPORT_ROLES else "fusion:tasks")
