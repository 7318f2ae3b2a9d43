"""Devices endpoints under ``/api/v1/``: devices and alarms in the caller's grids, and the
alarm actions (acknowledge, handled, false alarm). Staff sessions only: integrations send
events (MQTT, the Hikvision webhook), they do not read them back. Another area's device or
alarm is 404 exactly like a missing one. No personal data: a device names the person it
protects by id only."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from linli.accounts.auth import StaffSessionAuth, request_id_of
from linli.accounts.auth import principal_of as _principal
from linli.accounts.models import User
from linli.core.errors import PermissionDenied
from linli.core.params import Id, Limit, Offset
from linli.devices import selectors, services
from linli.devices.choices import DeviceKind

router = Router(tags=["devices"], auth=[StaffSessionAuth()])
MAX_PAGE = 200


class DeviceOut(Schema):
    id: int
    kind: str
    external_id: str
    name: str
    vendor: str
    model: str
    spot: str
    grid_id: int
    building_id: int | None
    room_id: int | None
    person_id: int | None
    status: str
    battery: int | None
    battery_low: bool
    last_seen_at: datetime | None
    last_opened_at: datetime | None
    heartbeat_seconds: int
    absence_hours: int | None


class DeviceDetailOut(DeviceOut):
    last_values: dict[str, Any]


class DevicePageOut(Schema):
    count: int
    items: list[DeviceOut]


class AlarmOut(Schema):
    id: int
    device_id: int
    grid_id: int
    kind: str
    level: int
    status: str
    summary: str
    raised_at: datetime
    last_at: datetime
    repeats: int
    case_id: int | None
    snapshot_url: str
    acknowledged_at: datetime | None
    closed_at: datetime | None
    note: str


class AlarmPageOut(Schema):
    count: int
    items: list[AlarmOut]


class AlarmActionIn(Schema):
    action: Literal["acknowledge", "handle", "false_alarm"]
    note: str = Field("", max_length=500)


def _user(request: HttpRequest) -> User:
    principal = _principal(request)
    if not isinstance(principal, User):
        raise PermissionDenied("staff only")
    return principal


@router.get("/devices", response=DevicePageOut)
def device_list(request: HttpRequest, *, status: Literal["", "online", "offline", "low_battery", "new"] = "",
                kind: str = "", q: str = "", limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    rows = selectors.device_list_for_user(user=_user(request), status=status,
                                          kind=kind if kind in DeviceKind.values else "", q=q.strip()[:100])
    limit = min(limit, MAX_PAGE)
    return {"count": rows.count(), "items": list(rows[offset:offset + limit])}


@router.get("/devices/{device_id}", response=DeviceDetailOut)
def device_detail(request: HttpRequest, device_id: Id) -> Any:
    return selectors.device_get_for_user(user=_user(request), device_id=device_id)


@router.get("/alarms", response=AlarmPageOut)
def alarm_list(request: HttpRequest, *, state: Literal["open", "all"] = "open", limit: Limit = 50,
               offset: Offset = 0) -> dict[str, Any]:
    rows = selectors.alarm_list_for_user(user=_user(request), state=state)
    limit = min(limit, MAX_PAGE)
    return {"count": rows.count(), "items": list(rows[offset:offset + limit])}


@router.get("/alarms/{alarm_id}", response=AlarmOut)
def alarm_detail(request: HttpRequest, alarm_id: Id) -> Any:
    return selectors.alarm_get_for_user(user=_user(request), alarm_id=alarm_id)


@router.post("/alarms/{alarm_id}/actions", response=AlarmOut)
def alarm_action(request: HttpRequest, alarm_id: Id, payload: AlarmActionIn) -> Any:
    """Acknowledge (raised → acknowledged), handled or false alarm; 400 when the alarm's
    state does not allow it."""
    user = _user(request)
    selectors.alarm_get_for_user(user=user, alarm_id=alarm_id)  # 404 outside the scope
    return services.alarm_transition(alarm=alarm_id, action=payload.action, actor=user, note=payload.note,
                                     request_id=request_id_of(request))
