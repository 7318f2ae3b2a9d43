"""API schemas of the service catalogue. Personal numbers appear masked only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from linli.core.params import Count, Id
from linli.registry.schemas import Page

__all__ = [
    "ApplicationIn",
    "ApplicationOut",
    "AppointmentIn",
    "AppointmentOut",
    "EventOut",
    "FileOut",
    "ItemDetailOut",
    "ItemOut",
    "Page",
    "SearchHitOut",
    "SlotOut",
    "TransitionIn",
    "WindowOut",
]


class ItemOut(Schema):
    id: int
    code: str
    name: str
    department: str
    department_code: str
    level: str
    kind: str
    version: int | None
    time_limit_days: int | None
    promised_days: int | None


class ItemDetailOut(ItemOut):
    conditions: str
    materials: list[dict[str, Any]]
    fees: str
    legal_basis: str
    steps: list[str]
    form: dict[str, Any]
    has_rule: bool


class SearchHitOut(Schema):
    item: ItemOut
    materials: list[dict[str, Any]]
    score: float
    matched_terms: list[str]


class ApplicationIn(Schema):
    """A new application. Upload fields take files in a multipart request (part name = field key)."""

    item: str = Field(description="事项编码 (item code) or numeric id")
    data: dict[str, Any] = Field(default_factory=dict)
    applicant_id: Id | None = Field(default=None, description="registry person (staff only)")
    applicant_name: str = ""
    community_id: Id | None = None
    channel: str = "online"


class TransitionIn(Schema):
    action: str
    expected_version: Count | None = None
    note: str = ""
    missing: list[str] = Field(default_factory=list)


class FileOut(Schema):
    id: int
    material_code: str
    original_name: str
    content_type: str
    size: int


class EventOut(Schema):
    action: str
    from_status: str
    to_status: str
    actor_label: str
    note: str
    missing: list[str]
    at: datetime


class ApplicationOut(Schema):
    id: int
    number: str
    item_code: str
    item_name: str
    item_version: int
    status: str
    decision: str
    decision_reason: str
    applicant_name: str
    applicant_id_masked: str
    community_id: int
    channel: str
    data: dict[str, Any]
    submitted_at: datetime | None
    due_at: datetime | None
    paused_working_days: int
    decided_at: datetime | None
    rule_result: dict[str, Any] | None
    version: int
    allowed_actions: list[str]
    files: list[FileOut]
    events: list[EventOut]


class WindowOut(Schema):
    id: int
    code: str
    name: str
    community_id: int
    slot_minutes: int
    capacity_per_slot: int
    opening_hours: dict[str, Any]


class SlotOut(Schema):
    start: datetime
    capacity: int
    booked: int
    available: int


class AppointmentIn(Schema):
    window_id: Id
    slot_start: datetime
    name: str
    phone: str
    item_id: Id | None = None
    person_id: Id | None = None


class AppointmentOut(Schema):
    id: int
    window_id: int
    slot_start: datetime
    name: str
    phone_masked: str
    item_id: int | None
    status: str
    number: str


class DayQuery(Schema):
    day: date | None = None
