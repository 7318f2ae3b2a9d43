"""API of the notify app: the caller's own inbox (staff session; an integration key has
no inbox). Reads through selectors, writes through services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from linli.accounts.auth import StaffSessionAuth
from linli.accounts.auth import principal_of as _principal
from linli.accounts.models import User
from linli.core.errors import NotFound, PermissionDenied
from linli.core.params import Id, Limit, Offset
from linli.notify import selectors, services

router = Router(tags=["notifications"], auth=[StaffSessionAuth()])


class NotificationOut(Schema):
    id: int
    event_type: str
    level: str
    title: str
    body: str
    link: str
    object_type: str
    object_id: str
    created_at: datetime
    read_at: datetime | None


class InboxOut(Schema):
    count: int
    unread: int
    items: list[NotificationOut]


class UnreadOut(Schema):
    unread: int


def _user(request: HttpRequest) -> User:
    principal = _principal(request)
    if not isinstance(principal, User):
        raise PermissionDenied("an API key has no inbox")
    return principal


@router.get("/notifications", response=InboxOut)
def inbox(request: HttpRequest, *, unread: bool = False, kind: str = "", limit: Limit = 50,
          offset: Offset = 0) -> dict[str, Any]:
    user = _user(request)
    rows = selectors.inbox_for_user(user=user, filters=selectors.InboxFilters(unread=unread, event_prefix=kind))
    limit = max(1, min(limit, 200))
    return {"count": rows.count(), "unread": selectors.unread_count(user_id=user.pk),
            "items": list(rows[offset:offset + limit])}


@router.get("/notifications/unread-count", response=UnreadOut)
def unread_count(request: HttpRequest) -> dict[str, int]:
    return {"unread": selectors.unread_count(user_id=_user(request).pk)}


@router.post("/notifications/{notification_id}/read", response=UnreadOut)
def read(request: HttpRequest, notification_id: Id) -> dict[str, int]:
    user = _user(request)
    if not services.notification_read(user=user, notification_id=notification_id) and not \
            selectors.inbox_for_user(user=user).filter(pk=notification_id).exists():
        raise NotFound("notification")
    return {"unread": selectors.unread_count(user_id=user.pk)}


@router.post("/notifications/read-all", response=UnreadOut)
def read_all(request: HttpRequest) -> dict[str, int]:
    user = _user(request)
    services.notification_read_all(user=user)
    return {"unread": selectors.unread_count(user_id=user.pk)}
