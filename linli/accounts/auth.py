"""API authentication: a staff session (with CSRF) or an integration key."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyHeader, SessionAuth

from linli.accounts.choices import Role
from linli.accounts.models import ApiKey
from linli.accounts.selectors import Principal
from linli.accounts.services import api_key_authenticate
from linli.core.actors import Actor, SystemActor
from linli.core.errors import PermissionDenied

# Said to a resident whose portal session reached a staff endpoint (issue #15).
RESIDENT_REFUSED = "residents use the portal API under /api/v1/portal/; the staff API refuses a resident session"


class StaffSessionAuth(SessionAuth):
    """A logged-in user; residents use the portal, not this API."""

    residents_welcome = False

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None or not user.is_active:
            return None
        # A resident's portal session is a real login, but not a staff one: refuse it outright
        # (403, not "authentication required"), on every staff endpoint at once.
        if getattr(user, "role", None) == Role.RESIDENT and not self.residents_welcome:
            raise PermissionDenied(RESIDENT_REFUSED)
        return user


class ReporterSessionAuth(StaffSessionAuth):
    """A staff session, or a resident's for the reporter's own loop on the cases API (report
    a case, add photos, follow it, rate it): the operations that name this scheme."""

    residents_welcome = True


class ApiKeyAuth(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        if not key:
            return None
        return api_key_authenticate(raw=key)


# The cases API's reporter operations: an integration key, staff, or the resident who reports.
REPORTER_AUTH = [ApiKeyAuth(), ReporterSessionAuth()]


def principal_of(request: HttpRequest) -> Principal:
    """Who an authenticated API request speaks for: a staff user or an integration key."""
    principal: Principal = request.auth  # type: ignore[attr-defined]
    return principal


def actor_of(principal: Principal) -> Actor:
    """The audit actor: the user, or a named system actor for an API key."""
    if isinstance(principal, ApiKey):
        return SystemActor(f"apikey:{principal.prefix}")
    actor: Actor = principal
    return actor


def request_id_of(request: HttpRequest) -> str:
    return str(getattr(request, "request_id", ""))
