"""Cases endpoints under ``/api/v1/``: intake, scoped reads, transitions, photos, statistics.

Each endpoint parses input, calls one service or selector and returns a schema. The caller
is ``request.auth``: a staff user (session) or an integration key. Keys may report
(``cases.report`` scope) and read back the cases they reported; everything else is for
staff, scoped by their areas (another area's case is 404, exactly like a missing one).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import FileResponse, HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from linli.accounts.auth import REPORTER_AUTH, ApiKeyAuth, StaffSessionAuth
from linli.accounts.auth import actor_of as _actor
from linli.accounts.auth import principal_of as _principal
from linli.accounts.auth import request_id_of as _request_id
from linli.accounts.choices import Role
from linli.accounts.models import ApiKey, User
from linli.accounts.selectors import Principal, scope_for
from linli.cases import selectors, services
from linli.cases.choices import ACTION_LABELS, CaseSource
from linli.cases.group_commit import case_open_grouped
from linli.cases.indicators import INDICATORS
from linli.cases.models import Case, CaseEvent, CasePhoto
from linli.cases.open311 import REPORT_SCOPE
from linli.cases.schemas import (
    CaseDetailOut,
    CaseIn,
    CaseOut,
    CasePage,
    MajorOut,
    RegradeIn,
    StatsOut,
    TransitionIn,
)
from linli.cases.stats import StatRow, case_statistics_for_user
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.params import Count, Id, Limit, Offset
from linli.core.stored_files import stored_file_response

# The key first: Ninja's session auth refuses a POST without a CSRF cookie before the next
# auth is tried, which would shut integrations (no cookies) out of every POST.
router = Router(tags=["cases"], auth=[ApiKeyAuth(), StaffSessionAuth()])
LIMIT_MAX = 200
COUNT_CAP = 10_000
IDEMPOTENCY_KEY_MAX = 80

# The channel a staff member reports through unless they say otherwise.
DEFAULT_SOURCE: dict[str, str] = {
    Role.GRID_WORKER: CaseSource.PATROL,
    Role.DEPARTMENT_STAFF: CaseSource.DEPARTMENT,
    Role.RESIDENT: CaseSource.RESIDENT,
}


# --- Callers ------------------------------------------------------------------------------




def _staff(request: HttpRequest) -> User:
    principal = _principal(request)
    if not isinstance(principal, User):
        raise PermissionDenied(_("该接口仅供工作人员使用"))
    return principal






def _key_namespace(principal: Principal) -> str:
    """Idempotency keys are per caller: two integrations may both send ``42``."""
    return f"k{principal.prefix}:" if isinstance(principal, ApiKey) else f"u{principal.pk}:"


def _case_for(principal: Principal, case_id: Id) -> Case:
    if isinstance(principal, User):
        return selectors.case_get_for_user(user=principal, case_id=case_id)
    # A key reads back only what it reported itself (its idempotency namespace).
    case = Case.objects.select_related("category", "category__parent", "grid", "department").filter(
        pk=case_id, source_key__startswith=_key_namespace(principal)).first()
    if case is None:
        raise NotFound(_("事件不存在"))
    return case


# --- Projections --------------------------------------------------------------------------


def case_out(case: Case) -> dict[str, Any]:
    category = case.category
    return {
        "id": case.pk, "number": case.number, "source": case.source, "status": case.status,
        "status_label": str(case.get_status_display()),
        "category": {"id": category.pk, "code": category.code, "name": category.name},
        "major": category.parent.name if category.parent else "",
        "level": case.level, "description": case.description,
        "public_description": case.public_description, "address": case.address,
        "lon": case.lon, "lat": case.lat, "grid_id": case.grid_id,
        "grid_name": case.grid.name if case.grid else None,
        "department": case.department.name if case.department else None,
        "assignee_id": case.assignee_id, "handled_on_spot": case.handled_on_spot,
        "stage": case.stage, "stage_due_at": case.stage_due_at, "due_at": case.due_at,
        "supervision_level": case.supervision_level, "satisfaction": case.satisfaction,
        "version": case.version, "created_at": case.created_at, "updated_at": case.updated_at,
    }


def photo_url(photo: CasePhoto) -> str:
    try:
        return reverse("cases:photo", args=[photo.case_id, photo.pk])
    except NoReverseMatch:
        return ""


def event_out(event: CaseEvent) -> dict[str, Any]:
    return {
        "id": event.pk, "action": event.action,
        "action_label": str(ACTION_LABELS.get(event.action, event.action)),
        "from_status": event.from_status, "to_status": event.to_status,
        "actor_label": event.actor_label, "note": event.note, "data": event.data, "at": event.at,
    }


def case_detail_out(case: Case, principal: Principal) -> dict[str, Any]:
    allowed = selectors.case_actions_for_user(user=principal, case=case) if isinstance(principal, User) else []
    return {
        **case_out(case),
        "reporter_name": case.reporter_name,
        "callback_phone_masked": case.callback_phone_masked,
        "timeline": [event_out(e) for e in selectors.case_timeline(case=case)],
        "photos": [{"id": p.pk, "event_id": p.event_id, "content_type": p.content_type, "size": p.size,
                    "url": photo_url(p)} for p in selectors.case_photos(case=case)],
        "allowed_actions": allowed,
    }


# --- Endpoints ----------------------------------------------------------------------------


@router.post("/cases", response={200: CaseOut, 201: CaseOut}, auth=REPORTER_AUTH)
def case_create(request: HttpRequest, payload: CaseIn) -> Status[dict[str, Any]]:
    """Report a case. ``Idempotency-Key``: the same key returns the same case (200, not 201).
    The reply comes after the case is committed (with concurrent reports: group commit); it
    is the case without its timeline (intake is the hot path), ``GET /cases/{id}`` has the rest."""
    principal = _principal(request)
    if isinstance(principal, ApiKey) and REPORT_SCOPE not in (principal.scopes or []):
        raise PermissionDenied(_("接口密钥没有上报事件的权限"))
    idempotency = request.headers.get("Idempotency-Key", "").strip()
    if len(idempotency) > IDEMPOTENCY_KEY_MAX:
        raise ValidationFailed("Idempotency-Key", _("幂等键不能超过80个字符"))
    source = payload.source
    if not source:
        if isinstance(principal, ApiKey):
            raise ValidationFailed("source", _("请指明事件来源"))
        source = DEFAULT_SOURCE.get(principal.role, CaseSource.STAFF)
    case, created = case_open_grouped(actor=_actor(principal), item=services.CaseInput(
        source=source, category=payload.category, description=payload.description,
        lon=payload.lon, lat=payload.lat, address=payload.address, level=payload.level,
        reporter_name=payload.reporter_name, callback_phone=payload.callback_phone,
        handled_on_spot=payload.handled_on_spot, public_description=payload.public_description,
        source_key=_key_namespace(principal) + idempotency if idempotency else "",
        request_id=_request_id(request),
        # a key reports only inside its areas
        within_grids=frozenset(scope_for(principal).grid_ids) if isinstance(principal, ApiKey) else None,
    ))
    return Status(201 if created else 200, case_out(case))


class CaseListFilters(Schema):
    status: str = ""
    open: bool = False
    category: Id | None = None
    source: str = ""
    grid: Id | None = None
    department: Id | None = None
    assignee: Id | None = None
    supervision: Count = 0
    overdue: bool = False
    q: str = ""
    limit: Limit = 50
    offset: Offset = 0


@router.get("/cases", response=CasePage)
def case_list(request: HttpRequest, filters: Query[CaseListFilters]) -> dict[str, Any]:
    user = _staff(request)
    rows = selectors.case_list_for_user(user=user, filters=selectors.CaseFilters(
        status=[s for s in filters.status.split(",") if s], open_only=filters.open,
        category_id=filters.category, source=filters.source, grid_id=filters.grid,
        department_id=filters.department, assignee_id=filters.assignee,
        min_supervision=filters.supervision, overdue=filters.overdue, q=filters.q.strip(),
    ))
    limit, offset = max(1, min(filters.limit, LIMIT_MAX)), max(0, filters.offset)
    # Counted up to a cap: an exact count reads every case in scope (1.2 s for a district's
    # three million); past the cap ``count_capped`` says "at least".
    found = rows.order_by()[:COUNT_CAP + 1].count()  # no ORDER BY: it would sort them all first
    return {"count": min(found, COUNT_CAP), "count_capped": found > COUNT_CAP, "limit": limit, "offset": offset,
            "items": [case_out(c) for c in rows[offset: offset + limit]]}


@router.get("/cases/inbox", response=list[CaseOut])
def case_inbox(request: HttpRequest, limit: Limit = 100) -> list[dict[str, Any]]:
    user = _staff(request)
    return [case_out(c) for c in selectors.case_inbox_for_user(user=user, limit=max(1, min(limit, LIMIT_MAX)))]


@router.get("/cases/categories", response=list[MajorOut], auth=REPORTER_AUTH)
def category_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [{
        "id": node.category.pk, "code": node.category.code, "name": node.category.name,
        "domain": node.category.domain,
        "children": [{"id": c.pk, "code": c.code, "name": c.name, "default_level": c.default_level}
                     for c in node.children],
    } for node in selectors.category_tree()]


def _stat_row(row: StatRow) -> dict[str, Any]:
    return {"key": row.key, "label": str(row.label), "values": row.values, "previous": row.previous,
            "deltas": row.deltas}


def default_period() -> tuple[date, date]:
    """From the first of this year to today (Beijing)."""
    today = timezone.localdate()
    return today.replace(month=1, day=1), today


@router.get("/cases/statistics", response=StatsOut)
def case_statistics(
    request: HttpRequest, group_by: str = "grid", start: date | None = None, end: date | None = None,
    compare: str | None = None,
) -> dict[str, Any]:
    first, last = default_period()
    table = case_statistics_for_user(user=_principal(request), group_by=group_by, start=start or first,
                                     end=end or last, compare=compare or None)
    return {
        "group_by": table.group_by, "start": table.start, "end": table.end, "compare": table.compare,
        "compare_start": table.compare_start, "compare_end": table.compare_end,
        "indicators": [{"key": k, "label": str(label), "kind": kind} for k, label, kind in INDICATORS],
        "rows": [_stat_row(r) for r in table.rows],
        "total": _stat_row(table.total) if table.total else None,
    }


@router.get("/cases/{case_id}", response=CaseDetailOut, auth=REPORTER_AUTH)
def case_detail(request: HttpRequest, case_id: Id) -> dict[str, Any]:
    principal = _principal(request)
    return case_detail_out(_case_for(principal, case_id), principal)


@router.post("/cases/{case_id}/transitions", response=CaseDetailOut, auth=REPORTER_AUTH)
def case_transition(request: HttpRequest, case_id: Id, payload: TransitionIn) -> dict[str, Any]:
    """Apply an action. Refusals: ``{code, message, field, status, version, allowed_actions}``
    with 409 (stale ``expected_version``, action not allowed now) or 403 (not your role)."""
    user = _staff(request)
    case = selectors.case_get_for_user(user=user, case_id=case_id)
    services.case_transition(case=case, action=payload.action, actor=user,
                             expected_version=payload.expected_version, note=payload.note,
                             data=payload.data, request_id=_request_id(request))
    return case_detail_out(selectors.case_get_for_user(user=user, case_id=case_id), user)


@router.post("/cases/{case_id}/level", response=CaseDetailOut)
def case_level_set(request: HttpRequest, case_id: Id, payload: RegradeIn) -> dict[str, Any]:
    """Change an open case's level (1 most urgent … 5) with a reason; dispatchers only (403
    otherwise), 400 naming ``level`` or ``reason``."""
    user = _staff(request)
    case = selectors.case_get_for_user(user=user, case_id=case_id)
    services.case_regrade(actor=user, case=case, level=payload.level, reason=payload.reason,
                          request_id=_request_id(request))
    return case_detail_out(selectors.case_get_for_user(user=user, case_id=case_id), user)


@router.post("/cases/{case_id}/photos", response={201: CaseDetailOut}, auth=REPORTER_AUTH)
def case_photos_add(
    request: HttpRequest, case_id: Id, photos: File[list[UploadedFile]],
) -> Status[dict[str, Any]]:
    principal = _principal(request)
    case = _case_for(principal, case_id)
    services.case_photo_add(case=case, actor=_actor(principal), photos=list(photos),
                            request_id=_request_id(request))
    return Status(201, case_detail_out(_case_for(principal, case_id), principal))


@router.get("/cases/{case_id}/photos/{photo_id}", auth=REPORTER_AUTH)
def case_photo_file(request: HttpRequest, case_id: Id, photo_id: Id) -> FileResponse:
    case = _case_for(_principal(request), case_id)
    photo = next((p for p in selectors.case_photos(case=case) if p.pk == photo_id), None)
    if photo is None:
        raise NotFound(_("照片不存在"))
    return stored_file_response(photo.file.open("rb"), content_type=photo.content_type,
                                filename=f"case-{case.pk}-photo-{photo.pk}")
