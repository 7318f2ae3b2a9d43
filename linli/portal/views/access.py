"""Who may open a portal page, and the one place that turns refusals into 404/403."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect

from linli.accounts.models import User
from linli.core.errors import ApplicationError, ErrorCode, NotFound
from linli.portal.selectors import is_resident

P = ParamSpec("P")


class ResidentRequest(HttpRequest):
    """A request that passed :func:`resident_view`: ``user`` is an active resident."""

    user: User
    request_id: str


ResidentView = Callable[Concatenate[ResidentRequest, P], HttpResponseBase]
PlainView = Callable[Concatenate[HttpRequest, P], HttpResponseBase]


def _mapped(view: Callable[..., HttpResponseBase], request: HttpRequest, *args: object,
            **kwargs: object) -> HttpResponseBase:
    try:
        return view(request, *args, **kwargs)
    except NotFound:
        raise Http404 from None
    except ApplicationError as error:
        if error.code == ErrorCode.PERMISSION_DENIED:
            raise DjangoPermissionDenied from None
        raise


def resident_view(view: ResidentView[P]) -> PlainView[P]:
    """Signed-in residents only: others go to the portal's sign-in (staff get 403)."""

    @wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect("portal:login")
        if not is_resident(request.user):
            raise DjangoPermissionDenied
        return _mapped(view, request, *args, **kwargs)

    return wrapper


def request_id_of(request: HttpRequest) -> str:
    return str(getattr(request, "request_id", ""))
