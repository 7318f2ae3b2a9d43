"""Operations pages: /healthz (monitors, nginx, upgrades), /metrics (Prometheus, with a
token) and the stuck-work page for street and district staff."""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from linli.accounts.access import StaffRequest, staff_view
from linli.accounts.choices import Role
from linli.core.errors import ApplicationError
from linli.ops import selectors, services
from linli.ops.metrics import metrics_text

# Who sees stuck work: the import roles see their area's import jobs; the district
# administrator also the task queue and the workers.
OPS_ROLES: frozenset[str] = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF})


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """``{"status": "ok"|"fail", "checks": {...}}``, 200 or 503. ``?checks=database,disk``
    asks only some (nginx and ``linli upgrade`` ask for ``database``; a monitor asks all).
    No personal data, no login: counts and ages only."""
    wanted = tuple(name for name in request.GET.get("checks", "").split(",") if name in selectors.HEALTH_CHECKS)
    report = selectors.health_report(checks=wanted or selectors.HEALTH_CHECKS)
    body: dict[str, Any] = {"status": "ok" if report.ok else "fail", "checks": report.checks}
    return JsonResponse(body, status=200 if report.ok else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, only with ``Authorization: Bearer LINLI_METRICS_TOKEN``;
    without a configured token the page does not exist."""
    token = settings.LINLI_METRICS_TOKEN
    if not token:
        raise Http404
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        response = HttpResponse("unauthorised\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="linli metrics"'
        return response
    return HttpResponse(metrics_text(), content_type="text/plain; version=0.0.4; charset=utf-8")


@staff_view(OPS_ROLES)
@never_cache
@require_GET
def stuck_work(request: StaffRequest) -> HttpResponse:
    work = selectors.stuck_work_for_user(user=request.user)
    return render(request, "ops/jobs.html", {"work": work})


@staff_view(frozenset({Role.DISTRICT_ADMIN}))
@require_POST
def task_resume(request: StaffRequest, task_id: str) -> HttpResponse:
    try:
        services.task_resume(actor=request.user, task_id=task_id)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("任务已重新排队。"))
    return redirect("ops:jobs")
