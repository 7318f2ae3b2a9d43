"""API of the field app: the worker's today list as JSON (staff session), e.g. for a
WeChat mini-program shell. Writes go through ``POST /field/sync/`` (multipart, photos)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from linli.accounts.auth import StaffSessionAuth
from linli.accounts.auth import principal_of as _principal
from linli.accounts.models import User
from linli.field import selectors

router = Router(tags=["field"], auth=[StaffSessionAuth()])


class TodayItemOut(Schema):
    kind: str
    id: int
    title: str
    detail: str
    where: str
    url: str
    due: datetime | None
    badge: str


class TodayOut(Schema):
    count: int
    items: list[TodayItemOut]


@router.get("/field/today", response=TodayOut)
def today(request: HttpRequest) -> dict[str, Any]:
    """Everything due for the signed-in grid worker, most urgent first (empty for others)."""
    principal = _principal(request)
    if not isinstance(principal, User):
        return {"count": 0, "items": []}
    data = selectors.today_for_user(user=principal)
    items = [
        {
            "kind": i.kind,
            "id": i.pk,
            "title": i.title,
            "detail": i.detail,
            "where": i.where,
            "url": i.url,
            "due": i.urgency.due,
            "badge": i.badge,
        }
        for i in data.items
    ]
    return {"count": len(items), "items": items}
