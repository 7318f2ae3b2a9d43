"""The HTTP API under /api/v1/: one NinjaAPI, app routers, one error format.

Errors are always ``{"code", "message", "field"}``. Objects outside the caller's scope are
404 exactly like objects that do not exist.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.errors import HttpError as NinjaHttpError

from linli.accounts.auth import ApiKeyAuth, StaffSessionAuth
from linli.care.api import router as care_router
from linli.cases.api import router as cases_router
from linli.cases.api_reveal import router as cases_reveal_router
from linli.catalogue.api import router as catalogue_router
from linli.core.errors import ApplicationError, ErrorCode
from linli.devices.api import router as devices_router
from linli.field.api import router as field_router
from linli.fusion.api import router as fusion_router
from linli.notify.api import router as notify_router
from linli.portal.api import router as portal_router
from linli.registry.api import router as registry_router

api = NinjaAPI(
    title="linli API",
    version="1",
    description="邻里 linli — registry, areas and grids. Errors: {code, message, field}.",
    urls_namespace="api-v1",
    # The key first: integrations send no CSRF token, and session auth would refuse them.
    auth=[ApiKeyAuth(), StaffSessionAuth()],
)
api.add_router("/", registry_router)
api.add_router("/services", catalogue_router)
api.add_router("/", cases_router)
api.add_router("/", cases_reveal_router)
api.add_router("/", fusion_router)
api.add_router("/", notify_router)
api.add_router("/", field_router)
api.add_router("/", devices_router)
api.add_router("/", care_router)
api.add_router("/portal", portal_router)


@api.exception_handler(ApplicationError)
def _application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [str(part) for part in first.get("loc", []) if part not in {"body", "query", "path", "payload"}]
    body = {
        "code": ErrorCode.INVALID,
        "message": first.get("msg", "invalid input"),
        "field": ".".join(loc) or None,
        "errors": exc.errors,
    }
    return api.create_response(request, body, status=422)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    body = {"code": ErrorCode.UNAUTHENTICATED, "message": "authentication required", "field": None}
    return api.create_response(request, body, status=401)


@api.exception_handler(NinjaHttpError)
def _http_error(request: HttpRequest, exc: NinjaHttpError) -> HttpResponse:
    code = ErrorCode.NOT_FOUND if exc.status_code == 404 else ErrorCode.INVALID
    body = {"code": code, "message": str(exc), "field": None}
    return api.create_response(request, body, status=exc.status_code)
