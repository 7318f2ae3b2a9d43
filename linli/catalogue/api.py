"""Catalogue endpoints (mounted under ``/api/v1/services/``): items, one-sentence search,
applications with their workflow, and appointments.

Each endpoint parses input, calls one selector or service and returns a schema. Errors are
``{code, message, field}``; an illegal or stale workflow step is a 409 that also carries the
application's ``status`` and the ``allowed_actions`` so a client can refresh.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Status
from pydantic import ValidationError as PydanticValidationError

from linli.accounts.auth import actor_of as _actor
from linli.accounts.auth import principal_of as _principal
from linli.accounts.auth import request_id_of as _request_id
from linli.accounts.models import User
from linli.accounts.selectors import Principal
from linli.catalogue import workflow
from linli.catalogue.choices import CatalogueErrorCode, ItemLevel
from linli.catalogue.forms_schema import form_fields
from linli.catalogue.models import Application, Appointment, ServiceItem
from linli.catalogue.schemas import (
    ApplicationIn,
    ApplicationOut,
    AppointmentIn,
    AppointmentOut,
    ItemDetailOut,
    ItemOut,
    Page,
    SearchHitOut,
    SlotOut,
    TransitionIn,
    WindowOut,
)
from linli.catalogue.search import item_answer
from linli.catalogue.selectors import (
    application_files,
    application_get_for_user,
    application_timeline,
    appointment_get_for_user,
    item_get,
    item_list,
    window_get,
    window_list,
    window_slots,
)
from linli.catalogue.services import (
    application_submit,
    application_transition,
    appointment_book,
    appointment_cancel,
)
from linli.core.errors import ApplicationError, NotFound, ValidationFailed
from linli.core.params import Id, Limit, Offset
from linli.geo.models import Area
from linli.registry.selectors import person_get_for_user

router = Router(tags=["services"])
LIMIT_MAX = 200
SEARCH_LIMIT = 10








def _item_out(item: ServiceItem) -> dict[str, Any]:
    version = item.current_version
    return {
        "id": item.pk, "code": item.code, "name": item.name, "department": item.department.name,
        "department_code": item.department.code,
        "level": item.level, "kind": item.kind, "version": version.version if version else None,
        "time_limit_days": version.time_limit_days if version else None,
        "promised_days": version.promised_days if version else None,
    }


def _item_by_ref(ref: str) -> ServiceItem:
    return item_get(item_id=int(ref)) if ref.isdigit() else item_get(code=ref)


# --- catalogue ------------------------------------------------------------------------------


@router.get("/items", response=Page[ItemOut])
def items(request: HttpRequest, department: str = "", level: str = "", limit: Limit = 50,
          offset: Offset = 0) -> dict[str, Any]:
    rows = item_list()
    if department:  # the department's code or name
        rows = rows.filter(Q(department__code=department) | Q(department__name=department))
    if level in ItemLevel.values:
        rows = rows.filter(level=level)
    limit, offset = max(1, min(limit, LIMIT_MAX)), max(0, offset)
    return {"count": rows.count(), "limit": limit, "offset": offset,
            "items": [_item_out(item) for item in rows[offset: offset + limit]]}


@router.get("/items/{ref}", response=ItemDetailOut)
def item_detail(request: HttpRequest, ref: str) -> dict[str, Any]:
    """One item by id or code, with its current definition."""
    item = _item_by_ref(ref)
    version = item.current_version
    if version is None:
        raise NotFound(_("事项尚未发布"))
    return {**_item_out(item), "conditions": version.conditions, "materials": version.materials,
            "fees": version.fees, "legal_basis": version.legal_basis, "steps": version.steps,
            "form": version.form, "has_rule": version.rules is not None}


@router.get("/search", response=list[SearchHitOut])
def search(request: HttpRequest, q: str, limit: Limit = 5) -> list[dict[str, Any]]:
    """One-sentence search (一句话办事): the items best matching an everyday sentence. An
    empty list means no item answers it: offer the 12345 hotline or the service window."""
    hits = item_answer(q[:200], limit=max(1, min(limit, SEARCH_LIMIT))).hits
    found = {item.pk: item for item in item_list().filter(pk__in=[h.item_id for h in hits if h.item_id])}
    out = []
    for hit in hits:
        item = found.get(hit.item_id or 0)
        if item is None:
            continue
        materials = item.current_version.materials if item.current_version else []
        out.append({"item": _item_out(item), "materials": materials, "score": round(hit.score, 4),
                    "matched_terms": list(hit.matched_terms)})
    return out


# --- applications ---------------------------------------------------------------------------


def _application_out(app: Application, principal: Principal) -> dict[str, Any]:
    role = str(principal.role) if isinstance(principal, User) else workflow.SYSTEM
    is_owner = isinstance(principal, User) and app.submitted_by_id == principal.pk
    data = {k: v for k, v in (app.data or {}).items() if not k.endswith("_enc")}
    return {
        "id": app.pk, "number": app.number, "item_code": app.item_version.item.code,
        "item_name": app.item_version.item.name, "item_version": app.item_version.version,
        "status": app.status, "decision": app.decision, "decision_reason": app.decision_reason,
        "applicant_name": app.applicant_name, "applicant_id_masked": app.applicant_id_masked,
        "community_id": app.community_id, "channel": app.channel, "data": data,
        "submitted_at": app.submitted_at, "due_at": app.due_at,
        "paused_working_days": app.paused_working_days, "decided_at": app.decided_at,
        "rule_result": app.rule_result, "version": app.version,
        "allowed_actions": workflow.allowed_actions(app.status, role, item_level=app.item_version.item.level,
                                                    is_owner=is_owner),
        "files": application_files(application=app),
        "events": application_timeline(application=app),
    }


def _parse_application(request: HttpRequest) -> ApplicationIn:
    """JSON body, or multipart with the JSON in a ``payload`` part and files by field key."""
    if request.content_type == "multipart/form-data":
        raw = request.POST.get("payload", "")
        if not raw:
            raise ValidationFailed("payload", _("请在 payload 中提交申请内容(JSON)"))
    else:
        raw = request.body.decode("utf-8", errors="replace")
    try:
        return ApplicationIn.model_validate_json(raw or "{}")
    except PydanticValidationError as exc:
        errors = exc.errors()
        if not errors:
            raise ValidationFailed("payload", _("申请内容格式无效")) from None
        field = ".".join(str(part) for part in errors[0]["loc"]) or "payload"
        raise ValidationFailed(field, errors[0]["msg"]) from None


_APPLICATION_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": ApplicationIn.model_json_schema()},
            "multipart/form-data": {"schema": {
                "type": "object",
                "properties": {"payload": {"type": "string", "description": "ApplicationIn as JSON"}},
                "additionalProperties": {"type": "string", "format": "binary"},
            }},
        },
    },
}


@router.post("/applications", response={200: ApplicationOut, 201: ApplicationOut},
             openapi_extra=_APPLICATION_BODY)
def application_create(request: HttpRequest) -> Status[dict[str, Any]]:
    """File an application. ``Idempotency-Key`` makes retries safe: the same key returns the
    first application with 200 instead of 201."""
    principal = _principal(request)
    payload = _parse_application(request)
    item = _item_by_ref(payload.item)
    if item.current_version is None:
        raise NotFound(_("事项尚未发布"))
    applicant = None
    if payload.applicant_id is not None:
        if not isinstance(principal, User):
            raise ValidationFailed("applicant_id", _("只有窗口工作人员可以关联实有人口"))
        applicant = person_get_for_user(user=principal, person_id=payload.applicant_id)
    community = Area.objects.filter(pk=payload.community_id).first() if payload.community_id else None
    if payload.community_id and community is None:
        raise ValidationFailed("community_id", _("社区不存在"))
    keys = {f["key"] for f in form_fields(item.current_version.form) if f["type"] == "upload"}
    files = {key: request.FILES.getlist(key) for key in request.FILES if key in keys}
    unknown = [key for key in request.FILES if key not in keys]
    if unknown:
        raise ValidationFailed(unknown[0], _("表单中没有上传字段“%(key)s”") % {"key": unknown[0][:40]})
    app, created = application_submit(
        actor=_actor(principal), version=item.current_version, applicant=applicant, data=payload.data,
        files=files, channel=payload.channel, idempotency_key=request.headers.get("Idempotency-Key", ""),
        request_id=_request_id(request), community=community, applicant_name=payload.applicant_name,
    )
    app = application_get_for_user(user=principal, application_id=app.pk) if isinstance(principal, User) else app
    return Status(201 if created else 200, _application_out(app, principal))


@router.get("/applications/{application_id}", response=ApplicationOut)
def application_detail(request: HttpRequest, application_id: Id) -> dict[str, Any]:
    principal = _principal(request)
    app = application_get_for_user(user=principal, application_id=application_id)
    return _application_out(app, principal)


@router.post("/applications/{application_id}/transitions", response={200: ApplicationOut})
def application_transitions(
    request: HttpRequest, application_id: Id, payload: TransitionIn,
) -> HttpResponse | dict[str, Any]:
    """Take one workflow step; illegal or stale steps are 409 with the current status and the
    actions still allowed."""
    principal = _principal(request)
    app = application_get_for_user(user=principal, application_id=application_id)
    try:
        app = application_transition(
            application=app, action=payload.action, actor=_actor(principal),
            expected_version=payload.expected_version, note=payload.note, missing=payload.missing,
            request_id=_request_id(request),
        )
    except ApplicationError as exc:
        if exc.code in {CatalogueErrorCode.ILLEGAL_TRANSITION, CatalogueErrorCode.CONFLICT}:
            body = {"status": app.status, "allowed_actions": [], **exc.as_dict()}
            body["code"] = exc.code
            return _json_response(body, status=409)
        raise
    app = application_get_for_user(user=principal, application_id=app.pk)
    return _application_out(app, principal)


def _json_response(body: dict[str, Any], *, status: int) -> HttpResponse:
    """A JSON response outside the declared schemas (error bodies)."""
    return HttpResponse(json.dumps(body, ensure_ascii=False, default=str), status=status,
                        content_type="application/json; charset=utf-8")


# --- appointments ---------------------------------------------------------------------------


@router.get("/windows", response=list[WindowOut])
def windows(request: HttpRequest, item: Id | None = None) -> list[Any]:
    return list(window_list(item_id=item))


@router.get("/windows/{window_id}/slots", response=list[SlotOut])
def slots(request: HttpRequest, window_id: Id, day: date | None = None) -> list[dict[str, Any]]:
    window = window_get(window_id=window_id)
    chosen = day or timezone.localdate()
    return [{"start": s.start, "capacity": s.capacity, "booked": s.booked, "available": s.available}
            for s in window_slots(window=window, day=chosen)]


@router.post("/appointments", response={201: AppointmentOut})
def appointment_create(request: HttpRequest, payload: AppointmentIn) -> Status[Appointment]:
    principal = _principal(request)
    person = None
    if payload.person_id is not None:
        if not isinstance(principal, User):
            raise ValidationFailed("person_id", _("只有窗口工作人员可以关联实有人口"))
        person = person_get_for_user(user=principal, person_id=payload.person_id)
    appointment = appointment_book(
        actor=_actor(principal), window=window_get(window_id=payload.window_id), slot_start=payload.slot_start,
        person=person, name=payload.name, phone=payload.phone,
        item=item_get(item_id=payload.item_id) if payload.item_id else None, request_id=_request_id(request),
    )
    return Status(201, appointment)


@router.post("/appointments/{appointment_id}/cancel", response=AppointmentOut)
def appointment_cancel_endpoint(request: HttpRequest, appointment_id: Id) -> Appointment:
    principal = _principal(request)
    appointment = appointment_get_for_user(user=principal, appointment_id=appointment_id)
    return appointment_cancel(actor=_actor(principal), appointment=appointment, request_id=_request_id(request))

