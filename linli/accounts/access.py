"""Who may open a staff page, and the one place that turns domain refusals into 404/403.

Every app's pages (workbench, cases, service items, fusion) use :func:`staff_view`. Views
take a :class:`StaffRequest`: a request whose user is a logged-in, active staff member.
Selectors raise :class:`linli.core.errors.NotFound` for objects outside the user's scope;
the decorator maps it to Django's 404 so a page never tells "exists but not yours" apart
from "does not exist". Area scoping stays in the selectors; ``roles`` only decides which
pages a role is offered at all.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import wraps
from typing import Concatenate, ParamSpec

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import resolve_url

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.core.errors import ApplicationError, ErrorCode, NotFound

P = ParamSpec("P")

# Residents use the portal; they have no business in staff pages.
STAFF_ROLES: frozenset[str] = frozenset(role for role in Role if role != Role.RESIDENT)


class StaffRequest(HttpRequest):
    """A request that passed :func:`staff_view`: ``user`` is an active staff ``User``."""

    user: User
    request_id: str


StaffView = Callable[Concatenate[StaffRequest, P], HttpResponseBase]
PlainView = Callable[Concatenate[HttpRequest, P], HttpResponseBase]


def request_id_of(request: HttpRequest) -> str:
    return str(getattr(request, "request_id", ""))


def is_staff_user(user: object, roles: Collection[str] = STAFF_ROLES) -> bool:
    return isinstance(user, User) and user.is_active and user.role in roles and user.role != Role.RESIDENT


def staff_view(
    roles: Collection[str] = STAFF_ROLES,
) -> Callable[[StaffView[P]], PlainView[P]]:
    """Logged-in staff of ``roles``; out of scope → 404, not allowed → 403."""

    def decorate(view: StaffView[P]) -> PlainView[P]:
        @wraps(view)
        def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))
            if not is_staff_user(request.user, roles):
                raise DjangoPermissionDenied
            try:
                return view(request, *args, **kwargs)  # type: ignore[arg-type]
            except NotFound:
                raise Http404 from None
            except ApplicationError as error:
                if error.code == ErrorCode.PERMISSION_DENIED:
                    raise DjangoPermissionDenied from None
                raise

        return wrapper

    return decorate
