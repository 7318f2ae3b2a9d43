"""Request metrics and the maintenance switch (both outermost in ``MIDDLEWARE``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from linli.ops import metrics

# One bilingual page, also served by nginx when no web process answers (deploy/nginx/).
MAINTENANCE_PAGE = Path(__file__).resolve().parent / "static" / "ops" / "maintenance.html"

# Asked by nginx, monitors and `linli upgrade` during maintenance too.
ALWAYS_OPEN = ("/healthz", "/metrics")


class MetricsMiddleware:
    """Counts every request and its duration by method, status and view (never by raw path:
    ids in paths would make a series per object)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None and match.view_name else "unmatched"
        metrics.request_observe(method=request.method or "", status=response.status_code, view=view,
                                seconds=time.perf_counter() - started)
        return response


class MaintenanceMiddleware:
    """While ``LINLI_MAINTENANCE_FILE`` exists (``linli upgrade`` runs a migration that needs
    it), every page answers 503 with the maintenance page. One stat() per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.LINLI_MAINTENANCE_FILE.exists() and not request.path.startswith(ALWAYS_OPEN):
            response = HttpResponse(maintenance_page(), status=503, content_type="text/html; charset=utf-8")
            response["Retry-After"] = "120"
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)


@cache
def maintenance_page() -> bytes:
    return MAINTENANCE_PAGE.read_bytes()
