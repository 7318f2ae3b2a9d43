"""API schemas of fusion: jobs and their reports, the review queue, provenance, tasks.

Personal identifiers appear masked only; nothing here carries a decrypted value.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from linli.registry.schemas import Page

__all__ = [
    "AnswerIn", "CompareOut", "DecisionIn", "DecisionOut", "FieldHistoryOut", "FieldValueOut", "JobOut", "JobProgressOut",
    "Page", "ReviewOut", "TaskEvidenceOut", "TaskOut",
]


class JobOut(Schema):
    """An import job and, once finished, its report figures."""

    id: int
    source: str
    department: str
    file_name: str
    status: str
    dry_run: bool
    progress: int
    counts: dict[str, Any]
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rejected_url: str | None = Field(None, description="Rejected rows as CSV (row, column, reason)")


class JobProgressOut(Schema):
    id: int
    status: str
    progress: int
    finished: bool


class CompareOut(Schema):
    field: str
    label: str
    record: str
    person: str
    differs: bool


class ReviewOut(Schema):
    """An uncertain match: the source row beside the candidate person (masked), the score."""

    id: int
    status: str
    score: float
    source: str
    department: str
    row_number: int
    candidate_id: int | None
    evidence: dict[str, Any]
    fields: list[CompareOut]


class DecisionIn(Schema):
    decision: Literal["accept", "reject"]


class DecisionOut(Schema):
    review_id: int
    status: str
    person_id: int


class FieldValueOut(Schema):
    source: str
    department: str
    value: str
    observed_at: datetime
    precedence: int
    won: bool
    reason: str
    row_number: int | None


class FieldHistoryOut(Schema):
    field: str
    current: str
    values: list[FieldValueOut]


class TaskEvidenceOut(Schema):
    who: str
    value: str
    row: int | None


class TaskOut(Schema):
    id: int
    person_id: int
    person_name: str
    field: str
    status: str
    grid_id: int | None
    assignee_id: int | None
    evidence: list[TaskEvidenceOut]
    answer: dict[str, Any]
    note: str
    created_at: datetime
    answered_at: datetime | None


class AnswerIn(Schema):
    """A grid worker's finding: the field's value seen on the spot (and a death date)."""

    value: str = Field(..., min_length=1, max_length=100)
    deceased_on: date | None = None
    note: str = Field("", max_length=500)
