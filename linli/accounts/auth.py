"""API authentication: a staff session (with CSRF) or an integration key."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyHeader, SessionAuth

from linli.accounts.models import ApiKey
from linli.accounts.selectors import Principal
from linli.accounts.services import api_key_authenticate
from linli.core.actors import Actor, SystemActor


class StaffSessionAuth(SessionAuth):
    """A logged-in user; residents use the portal, not this API."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None or not user.is_active:
            return None
        return user


class ApiKeyAuth(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        if not key:
            return None
        return api_key_authenticate(raw=key)


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
