"""API of the care app (staff session): a person's benefits, the due visits and work orders
of the caller's grids, recording a visit. Everything is scoped like the registry: a person
or row outside the caller's grids is 404 or simply absent. Reads through selectors, writes
through services."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from linli.accounts.auth import StaffSessionAuth
from linli.accounts.auth import principal_of as _principal
from linli.accounts.auth import request_id_of as _request_id
from linli.accounts.models import User
from linli.care import selectors, services
from linli.care.choices import ItemStatus
from linli.core.errors import PermissionDenied, ValidationFailed
from linli.core.params import Id, Limit, Offset
from linli.registry.selectors import person_get_for_user

router = Router(tags=["care"], auth=[StaffSessionAuth()])
MAX_PAGE = 200


class BenefitOut(Schema):
    id: int
    policy_code: str
    policy_name: str
    amount: Decimal | None
    starts_on: date
    ends_on: date | None
    state: str
    source: str
    source_ref: str


class DueVisitOut(Schema):
    id: int
    person_id: int
    person_name: str
    reason_kind: str
    reason: str
    due_on: date
    overdue: bool


class DueVisitPage(Schema):
    count: int
    items: list[DueVisitOut]


class WorkOrderOut(Schema):
    id: int
    person_id: int
    person_name: str
    kind: str
    policy_name: str
    reason: str
    due_on: date
    status: str


class WorkOrderPage(Schema):
    count: int
    items: list[WorkOrderOut]


class VisitIn(Schema):
    person_id: Id
    visited_at: datetime
    findings: dict[str, Any] = Field(default_factory=dict)
    notes: Annotated[str, Field(max_length=5000)] = ""
    needs: Annotated[str, Field(max_length=5000)] = ""
    met: Annotated[str, Field(max_length=100)] = ""
    place: Annotated[str, Field(max_length=200)] = ""
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None


class VisitOut(Schema):
    id: int
    person_id: int
    visited_at: datetime


def _user(request: HttpRequest) -> User:
    principal = _principal(request)
    if not isinstance(principal, User):
        raise PermissionDenied("care is for staff sessions")
    return principal


def _page(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


@router.get("/care/persons/{person_id}/benefits", response=list[BenefitOut])
def person_benefits(request: HttpRequest, person_id: Id) -> list[dict[str, Any]]:
    """A person's benefits with their history state and provenance (audited: income data)."""
    user = _user(request)
    person = person_get_for_user(user=user, person_id=person_id)
    selectors.care_scope(user)
    services.care_access_record(actor=user, person=person, request_id=_request_id(request))
    return [
        {"id": b.pk, "policy_code": b.policy.code, "policy_name": b.policy.name, "amount": b.amount,
         "starts_on": b.starts_on, "ends_on": b.ends_on, "state": b.state, "source": b.source,
         "source_ref": b.source_ref}
        for b in selectors.person_care(person=person).benefits
    ]


@router.get("/care/due-visits", response=DueVisitPage)
def due_visits(request: HttpRequest, *, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """Open visits of the caller's grids due within the week, overdue first."""
    rows = selectors.due_visit_list_for_user(user=_user(request))
    page = rows[offset:offset + _page(limit)]
    return {"count": rows.count(), "items": [
        {"id": d.pk, "person_id": d.person_id, "person_name": d.person.name, "reason_kind": d.reason_kind,
         "reason": d.reason, "due_on": d.due_on, "overdue": d.overdue} for d in page]}


@router.get("/care/work-orders", response=WorkOrderPage)
def work_orders(request: HttpRequest, *, status: ItemStatus | None = ItemStatus.OPEN, limit: Limit = 50,
                offset: Offset = 0) -> dict[str, Any]:
    """Work orders of the caller's grids (``status`` open by default; empty: all)."""
    rows = selectors.work_order_list_for_user(user=_user(request), status=status or "")
    page = rows[offset:offset + _page(limit)]
    return {"count": rows.count(), "items": [
        {"id": w.pk, "person_id": w.person_id, "person_name": w.person.name, "kind": w.kind,
         "policy_name": w.benefit.policy.name if w.benefit else "", "reason": w.reason, "due_on": w.due_on,
         "status": w.status} for w in page]}


@router.post("/care/visits", response={201: VisitOut})
def visit_create(request: HttpRequest, payload: VisitIn) -> Status[dict[str, Any]]:
    """Record a visit to a person of the caller's grids (closes their due visits)."""
    visited_at = payload.visited_at
    if timezone.is_naive(visited_at):
        visited_at = timezone.make_aware(visited_at)
    if visited_at.year < 2000:
        raise ValidationFailed("visited_at", "visited_at before 2000")
    visit = services.visit_record(
        actor=_user(request), person_id=payload.person_id, visited_at=visited_at, findings=payload.findings,
        notes=payload.notes, needs=payload.needs, met=payload.met, place=payload.place, lon=payload.lon,
        lat=payload.lat)
    return Status(201, {"id": visit.pk, "person_id": visit.person_id, "visited_at": visit.visited_at})
