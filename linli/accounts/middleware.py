"""Idle timeout for staff sessions (等保 2.0: idle logout).

The grid worker's phone app (``/field/``) locks itself with a PIN after a few minutes without
a touch, so on its own paths a grid worker's session may stay idle for the working day
(``LINLI_FIELD_IDLE_TIMEOUT_MINUTES``); any other page keeps the staff limit."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from linli.accounts.choices import Role

_LAST_SEEN = "linli_last_seen"
# Refresh the mark at most this often: a session write per request would make every page
# view a database write (SQLite has one writer).
_REFRESH_SECONDS = 60
FIELD_PATHS = ("/field/", "/api/v1/field/")


def idle_limit_seconds(*, role: str, path: str) -> int:
    """How long a session may stay idle before this request logs it out."""
    if role == Role.GRID_WORKER and path.startswith(FIELD_PATHS):
        return int(max(settings.LINLI_FIELD_IDLE_TIMEOUT_MINUTES, settings.LINLI_IDLE_TIMEOUT_MINUTES)) * 60
    return int(settings.LINLI_IDLE_TIMEOUT_MINUTES) * 60


def idle_expired(*, last_seen: object, role: str, path: str, now: float) -> bool:
    """Whether a session last seen at ``last_seen`` (its stored mark) is past the idle limit;
    also used by the cockpit's live stream (linli/cockpit/live.py), which has no middleware."""
    return isinstance(last_seen, int | float) and now - last_seen > idle_limit_seconds(role=role, path=path)


def last_seen_of(session: object) -> object:
    """The session's idle mark (set below), for :func:`idle_expired`."""
    return session.get(_LAST_SEEN) if hasattr(session, "get") else None


class IdleTimeoutMiddleware:
    """Log out a session that has seen no request for ``LINLI_IDLE_TIMEOUT_MINUTES``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(_LAST_SEEN)
            limit = idle_limit_seconds(role=getattr(request.user, "role", ""), path=request.path)
            if isinstance(last_seen, int | float) and now - last_seen > limit:
                # The request goes on as anonymous: protected views send it to the login page.
                logout(request)
            elif not isinstance(last_seen, int | float) or now - last_seen >= _REFRESH_SECONDS:
                request.session[_LAST_SEEN] = now
        return self.get_response(request)
