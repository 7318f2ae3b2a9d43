"""Idle timeout for staff sessions (等保 2.0: idle logout)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

_LAST_SEEN = "linli_last_seen"
# Refresh the mark at most this often: a session write per request would make every page
# view a database write (SQLite has one writer).
_REFRESH_SECONDS = 60


class IdleTimeoutMiddleware:
    """Log out a session that has seen no request for ``LINLI_IDLE_TIMEOUT_MINUTES``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(_LAST_SEEN)
            limit = settings.LINLI_IDLE_TIMEOUT_MINUTES * 60
            if isinstance(last_seen, int | float) and now - last_seen > limit:
                # The request goes on as anonymous: protected views send it to the login page.
                logout(request)
            elif not isinstance(last_seen, int | float) or now - last_seen >= _REFRESH_SECONDS:
                request.session[_LAST_SEEN] = now
        return self.get_response(request)
