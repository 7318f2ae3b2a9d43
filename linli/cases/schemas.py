"""Input and output schemas of the cases API (``/api/v1/cases…``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from linli.core.params import Count


class CaseIn(Schema):
    """A report. ``source`` defaults to the caller's channel (网格员 → patrol, staff → staff)."""

    source: str | None = None
    category: str = Field(description="小类编码(或编号)")
    description: str
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    level: Count | None = None
    reporter_name: str = ""
    callback_phone: str = ""
    handled_on_spot: bool = False
    public_description: str | None = Field(
        None, description="Open311 公开的描述(遮蔽后存储);不传:居民渠道为其原文,其余渠道不公开")


class CategoryRef(Schema):
    id: int
    code: str
    name: str


class CaseOut(Schema):
    """A case as a list shows it: no phone, no reporter's name."""

    id: int
    number: str
    source: str
    status: str
    status_label: str
    category: CategoryRef
    major: str
    level: int
    description: str
    public_description: str
    address: str
    lon: float | None
    lat: float | None
    grid_id: int | None
    grid_name: str | None
    department: str | None
    assignee_id: int | None
    handled_on_spot: bool
    stage: str
    stage_due_at: datetime | None
    due_at: datetime | None
    supervision_level: int
    satisfaction: int | None
    version: int
    created_at: datetime
    updated_at: datetime


class EventOut(Schema):
    id: int
    action: str
    action_label: str
    from_status: str
    to_status: str
    actor_label: str
    note: str
    data: dict[str, Any]
    at: datetime


class PhotoOut(Schema):
    id: int
    event_id: int | None
    content_type: str
    size: int
    url: str


class CaseDetailOut(CaseOut):
    """One case with its timeline, photos and what the caller may do next."""

    reporter_name: str
    callback_phone_masked: str
    timeline: list[EventOut]
    photos: list[PhotoOut]
    allowed_actions: list[str]


class CasePage(Schema):
    count: int
    count_capped: bool = False  # there are more than ``count``, which stopped at its cap
    limit: int
    offset: int
    items: list[CaseOut]


class TransitionIn(Schema):
    action: str
    expected_version: Count | None = None
    note: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class RegradeIn(Schema):
    level: int
    reason: str = ""


class StatRowOut(Schema):
    key: str
    label: str
    values: dict[str, float | int | None]
    previous: dict[str, float | int | None] | None = None
    deltas: dict[str, float | None] | None = None


class StatsOut(Schema):
    group_by: str
    start: date
    end: date
    compare: str | None
    compare_start: date | None
    compare_end: date | None
    indicators: list[dict[str, str]]
    rows: list[StatRowOut]
    total: StatRowOut | None


class MinorOut(Schema):
    id: int
    code: str
    name: str
    default_level: int


class MajorOut(Schema):
    id: int
    code: str
    name: str
    domain: str
    children: list[MinorOut]
