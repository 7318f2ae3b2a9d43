"""The residents' API under ``/api/v1/portal/`` (tag ``portal``): what the portal's pages show,
for an app or a WeChat mini-program: my household (masked), my applications, my reports with
their public timeline, notices (list, read), the community's 两委 and convention.

Authentication is the portal's own session (the ``sessionid`` of a resident signed in with a
code), with CSRF on unsafe methods; staff sessions and API keys get 401 here. Every object
comes from the same scoped selectors as the pages: another household's or community's object
is 404, exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.security import SessionAuth

from linli.accounts.models import User
from linli.catalogue.selectors import application_timeline
from linli.core.params import Id, Limit, Offset
from linli.portal import selectors, services
from linli.portal.choices import NoticeKind
from linli.portal.selectors import is_resident

MAX_PAGE = 100


class ResidentSessionAuth(SessionAuth):
    """A signed-in, active resident (the portal's session); anyone else is 401."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if is_resident(user) else None


router = Router(tags=["portal"], auth=[ResidentSessionAuth()])


def _user(request: HttpRequest) -> User:
    user: User = request.auth  # type: ignore[attr-defined]
    return user


def _paged(rows: QuerySet[Any], limit: int, offset: int, shape: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """One page of ``rows`` in the API's page shape (count, limit, offset, items)."""
    size = max(1, min(limit, MAX_PAGE))
    return {"count": rows.count(), "limit": size, "offset": offset,
            "items": [shape(row) for row in rows[offset : offset + size]]}


# --- schemas -------------------------------------------------------------------------------


class PortalMemberOut(Schema):
    id: int
    name: str
    relation: str
    phone_masked: str
    is_me: bool
    registered: bool


class PortalBenefitOut(Schema):
    member: str
    is_me: bool
    policy: str
    state: str
    amount: Decimal | None
    starts_on: date
    ends_on: date | None
    certification_due_on: date | None
    next_certification_on: date | None


class PortalCertificationOut(Schema):
    person_id: int
    name: str
    is_me: bool
    year: int
    policies: list[str]
    status: str
    due_on: date
    next_on: date


class PortalHouseholdOut(Schema):
    status: str
    room: str
    members: list[PortalMemberOut]
    benefits: list[PortalBenefitOut]
    certifications: list[PortalCertificationOut]


class PortalApplicationOut(Schema):
    id: int
    number: str
    item: str
    status: str
    status_label: str
    submitted_at: datetime | None
    due_at: datetime | None
    decided_at: datetime | None
    decision: str


class PortalApplicationStepOut(Schema):
    action: str
    label: str
    note: str
    at: datetime


class PortalApplicationDetailOut(PortalApplicationOut):
    decision_reason: str
    steps: list[PortalApplicationStepOut]


class PortalApplicationPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[PortalApplicationOut]


class PortalReportOut(Schema):
    id: int
    number: str
    category: str
    status: str
    status_label: str
    created_at: datetime
    satisfaction: int | None


class PortalPublicStepOut(Schema):
    label: str
    at: datetime


class PortalReportDetailOut(PortalReportOut):
    description: str
    steps: list[PortalPublicStepOut]


class PortalReportPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[PortalReportOut]


class PortalNoticeOut(Schema):
    id: int
    kind: str
    title: str
    period: str
    published_at: datetime
    read_count: int


class PortalAttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    url: str


class PortalNoticeDetailOut(PortalNoticeOut):
    body: str
    attachments: list[PortalAttachmentOut]


class PortalNoticePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[PortalNoticeOut]


class PortalReadOut(Schema):
    counted: bool


class PortalCommitteeMemberOut(Schema):
    id: int
    body: str
    role: str
    role_label: str
    name: str
    duties: str
    duty_phone: str
    term_start: date
    term_end: date | None
    photo_url: str | None


class PortalConventionOut(Schema):
    id: int
    version: int
    title: str
    body: str
    effective_on: date
    adopted_note: str


class PortalAffairsOut(Schema):
    committee: list[PortalCommitteeMemberOut]
    convention: PortalConventionOut | None
    upcoming: PortalConventionOut | None


# --- my household ----------------------------------------------------------------------------


@router.get("/household", response=PortalHouseholdOut)
def household(request: HttpRequest) -> dict[str, Any]:
    """The resident's own household: room, members masked (own name in full), the members'
    current benefits (amounts of one's own only) and this year's living certifications.
    Opening the benefits is audited (``portal.household.benefits``)."""
    user = _user(request)
    profile = selectors.profile_for_user(user=user)
    benefits = selectors.household_benefits_for_user(user=user)
    if benefits:
        services.household_benefits_access_record(
            user=user, request_id=str(getattr(request, "request_id", ""))
        )
    room = ""
    if profile is not None and profile.room is not None:
        room = f"{profile.room.building.address} {profile.room.unit.number}-{profile.room.number}"
    return {
        "status": profile.status if profile is not None else "",
        "room": room,
        "members": [
            {
                "id": m.pk,
                "name": m.name,
                "relation": m.relation,
                "phone_masked": m.phone,
                "is_me": m.is_me,
                "registered": m.registered,
            }
            for m in selectors.household_for_user(user=user)
        ],
        "benefits": [b.__dict__ for b in benefits],
        "certifications": [d.__dict__ for d in selectors.certifications_due_for_user(user=user)],
    }


# --- my applications ------------------------------------------------------------------------


def _application(a: Any) -> dict[str, Any]:
    return {
        "id": a.pk,
        "number": a.number,
        "item": a.item_version.item.name,
        "status": a.status,
        "status_label": a.get_status_display(),
        "submitted_at": a.submitted_at,
        "due_at": a.due_at,
        "decided_at": a.decided_at,
        "decision": a.decision,
    }


@router.get("/applications", response=PortalApplicationPage)
def applications(request: HttpRequest, *, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """Applications the resident submitted, newest first."""
    rows = selectors.applications_for_user(user=_user(request)).select_related("item_version__item")
    return _paged(rows, limit, offset, _application)


@router.get("/applications/{application_id}", response=PortalApplicationDetailOut)
def application(request: HttpRequest, application_id: Id) -> dict[str, Any]:
    """One of the resident's applications with its steps and their notes (the reasons of a
    decision or a correction), never who took them."""
    app = selectors.application_for_user(user=_user(request), application_id=application_id)
    return {
        **_application(app),
        "decision_reason": app.decision_reason,
        "steps": [
            {"action": e.action, "label": e.get_action_display(), "note": e.note, "at": e.at}
            for e in application_timeline(application=app)
        ],
    }


# --- my reports (随手拍) ----------------------------------------------------------------------


def _report(c: Any) -> dict[str, Any]:
    return {
        "id": c.pk,
        "number": c.number,
        "category": c.category.name if c.category else "",
        "status": c.status,
        "status_label": c.get_status_display(),
        "created_at": c.created_at,
        "satisfaction": c.satisfaction,
    }


@router.get("/reports", response=PortalReportPage)
def reports(request: HttpRequest, *, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """The resident's own reports, newest first."""
    rows = selectors.reports_for_user(user=_user(request))
    return _paged(rows, limit, offset, _report)


@router.get("/reports/{case_id}", response=PortalReportDetailOut)
def report(request: HttpRequest, case_id: Id) -> dict[str, Any]:
    """One own report: the public description and the public steps only (what and when)."""
    case = selectors.report_get_for_user(user=_user(request), case_id=case_id)
    return {
        **_report(case),
        "description": case.public_description,
        "steps": [
            {"label": s.label, "at": s.at} for s in selectors.report_public_timeline(case=case)
        ],
    }


# --- notices ---------------------------------------------------------------------------------


def _notice(n: Any) -> dict[str, Any]:
    return {
        "id": n.pk,
        "kind": n.kind,
        "title": n.title,
        "period": n.period,
        "published_at": n.published_at,
        "read_count": n.read_count,
    }


@router.get("/notices", response=PortalNoticePage)
def notices(
    request: HttpRequest,
    *,
    kind: NoticeKind | None = None,
    q: str = "",
    period: str = "",
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Notices and 三务公开 of the resident's community and the areas above it."""
    rows = selectors.notices_for_user(
        user=_user(request), kind=kind or "", query=q[:50], period=period[:20]
    )
    return _paged(rows, limit, offset, _notice)


@router.get("/notices/{notice_id}", response=PortalNoticeDetailOut)
def notice(request: HttpRequest, notice_id: Id) -> dict[str, Any]:
    """One notice with its attachments (downloaded through the portal's page URL)."""
    item = selectors.notice_get_for_user(user=_user(request), notice_id=notice_id)
    return {
        **_notice(item),
        "body": item.body,
        "attachments": [
            {
                "id": a.pk,
                "name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "url": f"/portal/notices/files/{a.pk}/",
            }
            for a in item.attachments.all()
        ],
    }


@router.post("/notices/{notice_id}/read", response=PortalReadOut)
def notice_read(request: HttpRequest, notice_id: Id) -> dict[str, Any]:
    """Count the resident's reading of a notice (once per resident; ``counted`` false after)."""
    user = _user(request)
    item = selectors.notice_get_for_user(user=user, notice_id=notice_id)
    return {"counted": services.notice_mark_read(user=user, notice=item)}


# --- public affairs: 两委 and 居民公约 ---------------------------------------------------------


def _convention(c: Any) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "id": c.pk,
        "version": c.version,
        "title": c.title,
        "body": c.body,
        "effective_on": c.effective_on,
        "adopted_note": c.adopted_note,
    }


@router.get("/affairs", response=PortalAffairsOut)
def affairs(request: HttpRequest) -> dict[str, Any]:
    """The serving 两委 members of the resident's community and its convention in force."""
    user = _user(request)
    view = selectors.convention_for_user(user=user)
    return {
        "committee": [
            {
                "id": m.pk,
                "body": m.body,
                "role": m.role,
                "role_label": m.get_role_display(),
                "name": m.name,
                "duties": m.duties,
                "duty_phone": m.duty_phone,
                "term_start": m.term_start,
                "term_end": m.term_end,
                "photo_url": f"/portal/affairs/photos/{m.pk}/" if m.photo_file else None,
            }
            for m in selectors.committee_for_user(user=user)
        ],
        "convention": _convention(view.current),
        "upcoming": _convention(view.upcoming),
    }
