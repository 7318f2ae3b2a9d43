"""Who may open workbench pages, and one place that turns domain refusals into 404/403.

Views take a :class:`StaffRequest`: a request whose user is a logged-in staff member.
Selectors raise :class:`linli.core.errors.NotFound` for objects outside the user's scope;
the decorator maps it to Django's 404 so a page never tells "exists but not yours" apart
from "does not exist".
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse

from linli.accounts.access import (
    STAFF_ROLES,
    StaffRequest,
    is_staff_user,
    request_id_of,
    staff_view,
)
from linli.accounts.choices import Permission, Role
from linli.accounts.models import User
from linli.accounts.selectors import AreaScope, scope_for
from linli.catalogue.selectors import WINDOW_ADMIN_ROLES

P = ParamSpec("P")

StaffView = Callable[Concatenate[StaffRequest, P], HttpResponse]
PlainView = Callable[Concatenate[HttpRequest, P], HttpResponse]

__all__ = ["MANAGE_ROLES", "StaffRequest", "audit_viewer_required", "can_use_workbench", "can_view_audit",
           "request_id_of", "staff_required"]


def can_use_workbench(user: User) -> bool:
    return is_staff_user(user, STAFF_ROLES)


def can_view_audit(user: User, scope: AreaScope | None = None) -> bool:
    """Auditors by permission; district admins too, who answer for the whole district."""
    if user.role == Role.DISTRICT_ADMIN:
        return True
    return (scope or scope_for(user)).can(Permission.VIEW_AUDIT)


# Any staff role: login required (session users only), domain errors mapped to 404/403.
staff_required = staff_view()

# The administration pages: district administrators keep everything there; street staff
# may read their street's service windows.
MANAGE_ROLES: frozenset[str] = frozenset({Role.DISTRICT_ADMIN}) | WINDOW_ADMIN_ROLES


def audit_viewer_required(view: StaffView[P]) -> PlainView[P]:
    """Like :func:`staff_required`, and the user must be allowed to read the audit trail."""

    @wraps(view)
    def guarded(request: StaffRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not can_view_audit(request.user):
            raise DjangoPermissionDenied
        return view(request, *args, **kwargs)

    return staff_required(guarded)  # type: ignore[return-value]
