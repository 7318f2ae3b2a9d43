"""The bell of every staff page: the signed-in user's unread count (one index-only count)."""

from __future__ import annotations

from django.http import HttpRequest

from linli.notify.selectors import unread_count


def bell(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notify_unread": lambda: unread_count(user_id=user.pk)}
