"""Writes from the phone: each queued write is applied exactly once by its client-made key.

``submission_apply`` is the one entry point of the sync endpoint. It inserts the key's
row first (a second request with the same key waits on the unique index, then reads the
first one's answer), applies the write through the owning app's service inside a savepoint,
and stores the answer in the same transaction: applied, or a conflict / refusal in words.
A refused write is answered, not dropped: the phone shows the message until the worker
has read it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from linli.accounts.choices import Permission
from linli.accounts.models import User
from linli.accounts.selectors import scope_for
from linli.care import services as care_services
from linli.cases import services as case_services
from linli.cockpit import selectors as cockpit_selectors
from linli.cockpit import services as cockpit_services
from linli.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from linli.core.services import audit_record
from linli.field import selectors, workflow
from linli.field.choices import CorrectionStatus, CorrectionTarget, Outcome, WriteKind
from linli.field.models import Correction, Patrol, Submission
from linli.fusion import selectors as fusion_selectors
from linli.fusion import services as fusion_services
from linli.registry import selectors as registry_selectors

logger = logging.getLogger(__name__)

MAX_TEXT = 2000


@dataclass(frozen=True)
class Applied:
    submission: Submission
    replayed: bool


def _text(payload: Mapping[str, Any], name: str, limit: int = MAX_TEXT) -> str:
    value = payload.get(name, "")
    if not isinstance(value, str):
        raise ValidationFailed(name, _("内容格式不正确"))
    if len(value) > limit:
        raise ValidationFailed(name, _("内容过长"))
    return value.strip()


def _int(payload: Mapping[str, Any], name: str) -> int:
    try:
        value = int(payload[name])
    except (KeyError, TypeError, ValueError, OverflowError):
        raise ValidationFailed(name, _("缺少编号")) from None
    if not 0 <= value < 2**63:  # the database's bigint: larger would be a server error
        raise ValidationFailed(name, _("缺少编号"))
    return value


def _position(payload: Mapping[str, Any]) -> tuple[float | None, float | None]:
    lon, lat = payload.get("lon"), payload.get("lat")
    if lon in (None, "") or lat in (None, ""):
        return None, None
    try:
        return float(str(lon)), float(str(lat))
    except ValueError:
        raise ValidationFailed("lon", _("位置格式不正确")) from None


def parse_when(value: Any) -> datetime | None:
    try:
        parsed = parse_datetime(str(value)) if value else None
    except ValueError:
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


def _when(value: Any, *, default: datetime) -> datetime:
    return parse_when(value) or default


def _apply_report(
    actor: User, payload: Mapping[str, Any], photos: Sequence[bytes], key: str
) -> dict[str, Any]:
    lon, lat = _position(payload)
    address = _text(payload, "address", 200)
    if not address and lon is not None and lat is not None:
        building = selectors.nearest_building(user=actor, lon=lon, lat=lat)
        address = building.address if building is not None else ""
    case, _created = case_services.case_open(
        actor=actor,
        source="patrol",
        category=_int(payload, "category"),
        description=_text(payload, "description"),
        lon=lon,
        lat=lat,
        address=address,
        handled_on_spot=bool(payload.get("handled_on_spot")),
        source_key=f"field-{key}",
        photos=list(photos),
        within_grids=scope_for(actor).grid_ids,
    )
    return {"case": case.pk, "number": case.number}


def _apply_visit(
    actor: User, payload: Mapping[str, Any], photos: Sequence[bytes]
) -> dict[str, Any]:
    lon, lat = _position(payload)
    findings = payload.get("findings") or {}
    if not isinstance(findings, dict):
        raise ValidationFailed("findings", _("内容格式不正确"))
    visit = care_services.visit_record(
        actor=actor,
        person_id=_int(payload, "person"),
        visited_at=_when(payload.get("visited_at"), default=timezone.now()),
        findings={str(k): str(v) for k, v in findings.items()},
        notes=_text(payload, "notes"),
        needs=_text(payload, "needs"),
        met=_text(payload, "met", 100),
        place=_text(payload, "place", 200),
        lon=lon,
        lat=lat,
        photos=list(photos),
    )
    return {"visit": visit.pk}


def _apply_case_action(
    actor: User, payload: Mapping[str, Any], photos: Sequence[bytes]
) -> dict[str, Any]:
    version = payload.get("version")
    case = case_services.case_transition(
        case=_int(payload, "case"),
        action=_text(payload, "action", 40),
        actor=actor,
        expected_version=_int(payload, "version") if version not in (None, "") else None,
        note=_text(payload, "note"),
        photos=list(photos),
    )
    return {"case": case.pk, "status": case.status}


def _apply_verify(actor: User, payload: Mapping[str, Any]) -> dict[str, Any]:
    task = fusion_selectors.verification_task_get_for_user(
        user=actor, task_id=_int(payload, "task")
    )
    if task.status != "open":
        raise ApplicationError("conflict", _("该核实任务已处理"))
    answer = payload.get("answer")
    if not isinstance(answer, dict):
        raise ValidationFailed("answer", _("请填写核实结果"))
    fusion_services.verification_answer(
        actor=actor, task=task, answer=answer, note=_text(payload, "note")
    )
    return {"task": task.pk}


def _apply_check(actor: User, payload: Mapping[str, Any]) -> dict[str, Any]:
    incident = cockpit_selectors.incident_get_for_user(
        user=actor, incident_id=_int(payload, "incident")
    )
    item = cockpit_selectors.incident_household_get_for_user(
        user=actor, incident=incident, item_id=_int(payload, "item")
    )
    marked = cockpit_services.incident_household_mark(
        actor=actor, item=item, state=_text(payload, "state", 20), note=_text(payload, "note", 200)
    )
    return {"item": marked.pk, "state": marked.state}


def _correction_grid(actor: User, target: str, target_id: int) -> int:
    if target == CorrectionTarget.PERSON:
        grid = registry_selectors.person_get_for_user(user=actor, person_id=target_id).grid_id
    elif target == CorrectionTarget.HOUSEHOLD:
        grid = registry_selectors.household_get_for_user(user=actor, household_id=target_id).grid_id
    elif target == CorrectionTarget.ROOM:
        grid = registry_selectors.room_get_for_user(user=actor, room_id=target_id).building.grid_id
    else:
        raise ValidationFailed("target", _("未知的更正对象"))
    if grid is None or grid not in scope_for(actor).grid_ids:
        raise NotFound()
    return grid


def correction_request(
    *, actor: User, target: str, target_id: int, field: str, proposed: str, note: str = ""
) -> Correction:
    """A worker's correction of a person, household or room, for the clerk to decide."""
    if not workflow.correction_field_allowed(target, field):
        raise ValidationFailed("field", _("该字段不能申请更正"))
    if not proposed.strip():
        raise ValidationFailed("proposed", _("请填写正确的内容"))
    grid = _correction_grid(actor, target, target_id)
    with transaction.atomic():
        row = Correction.objects.create(
            target_type=target,
            target_id=target_id,
            grid_id=grid,
            field=field,
            proposed=proposed.strip()[:200],
            note=note.strip(),
            requested_by=actor,
        )
        audit_record(
            actor=actor,
            action="field.correction.request",
            target_type="field.Correction",
            target_id=row.pk,
            fields=["field", "proposed"],
        )
    return row


def correction_decide(*, actor: User, correction: Correction, accept: bool) -> Correction:
    """The clerk's decision; accepting records it (the clerk edits the registry's own pages)."""
    if not scope_for(actor).can(Permission.EDIT_REGISTRY):
        raise PermissionDenied(_("无权处理更正申请"))
    with transaction.atomic():
        locked = Correction.objects.select_for_update().get(pk=correction.pk)
        if locked.status != CorrectionStatus.OPEN:
            raise ApplicationError("conflict", _("该申请已处理"))
        locked.status = CorrectionStatus.ACCEPTED if accept else CorrectionStatus.REJECTED
        locked.decided_by, locked.decided_at = actor, timezone.now()
        locked.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
        audit_record(
            actor=actor,
            action="field.correction.decide",
            target_type="field.Correction",
            target_id=locked.pk,
            fields=["status"],
        )
    return locked


def _apply_correction(actor: User, payload: Mapping[str, Any]) -> dict[str, Any]:
    row = correction_request(
        actor=actor,
        target=_text(payload, "target", 16),
        target_id=_int(payload, "target_id"),
        field=_text(payload, "field", 50),
        proposed=_text(payload, "proposed", 200),
        note=_text(payload, "note"),
    )
    return {"correction": row.pk}


def patrol_record(
    *, actor: User, started_at: datetime, ended_at: datetime, track: Sequence[Sequence[float]]
) -> Patrol:
    """A finished patrol with the track the open app recorded."""
    if ended_at < started_at:
        raise ValidationFailed("ended_at", _("结束时间早于开始时间"))
    if (ended_at - started_at).total_seconds() > workflow.MAX_PATROL_SECONDS:
        raise ValidationFailed("ended_at", _("巡查时间过长"))
    points = workflow.track_clean(track)
    # The worker's own (A角) grid before a grid he only backs up: where the staff look for it.
    grids = selectors.own_grid_ids(worker=actor)
    with transaction.atomic():
        patrol = Patrol.objects.create(
            worker=actor,
            grid_id=grids[0] if grids else None,
            started_at=started_at,
            ended_at=ended_at,
            track=points,
            distance_m=workflow.track_length_m(points),
        )
        audit_record(
            actor=actor,
            action="field.patrol",
            target_type="field.Patrol",
            target_id=patrol.pk,
            fields=["track"],
        )
    return patrol


def _apply_patrol(actor: User, payload: Mapping[str, Any]) -> dict[str, Any]:
    now = timezone.now()
    track = payload.get("track") or []
    if not isinstance(track, list):
        raise ValidationFailed("track", _("内容格式不正确"))
    patrol = patrol_record(
        actor=actor,
        started_at=_when(payload.get("started_at"), default=now),
        ended_at=_when(payload.get("ended_at"), default=now),
        track=track,
    )
    return {"patrol": patrol.pk}


def _apply(
    kind: str, actor: User, payload: Mapping[str, Any], photos: Sequence[bytes], key: str
) -> dict[str, Any]:
    if kind == WriteKind.REPORT:
        return _apply_report(actor, payload, photos, key)
    if kind == WriteKind.VISIT:
        return _apply_visit(actor, payload, photos)
    if kind == WriteKind.CASE_ACTION:
        return _apply_case_action(actor, payload, photos)
    if kind == WriteKind.VERIFY:
        return _apply_verify(actor, payload)
    if kind == WriteKind.CHECK:
        return _apply_check(actor, payload)
    if kind == WriteKind.CORRECTION:
        return _apply_correction(actor, payload)
    if kind == WriteKind.PATROL:
        return _apply_patrol(actor, payload)
    raise ValidationFailed("kind", _("未知的提交类型"))


def _subject(kind: str, payload: Mapping[str, Any]) -> str:
    if kind == WriteKind.CASE_ACTION:
        return _("事件（%(n)s）") % {"n": payload.get("number") or payload.get("case")}
    return str(WriteKind(kind).label) if kind in WriteKind.values else _("提交")


def refusal_words(kind: str, payload: Mapping[str, Any], error: ApplicationError) -> str:
    """What the worker reads about a write the server did not apply."""
    subject = _subject(kind, payload)
    if error.code == "not_found":
        return _("%(s)s：对象已不在您的网格内或已被删除，未生效。") % {"s": subject}
    if workflow.is_conflict(error.code):
        return _("%(s)s：期间已被改派或办结，您的操作未生效（%(m)s）。") % {
            "s": subject,
            "m": error.message,
        }
    return _("%(s)s：未能提交（%(m)s）。") % {"s": subject, "m": error.message}


def submission_apply(
    *,
    actor: User,
    key: str,
    kind: str,
    payload: Mapping[str, Any],
    photos: Sequence[bytes] = (),
    made_at: datetime | None = None,
) -> Applied:
    """Apply one queued write exactly once; the same key again returns the first answer."""
    if not workflow.key_valid(key):
        raise ValidationFailed("key", _("提交编号无效"))
    if kind not in WriteKind.values:
        raise ValidationFailed("kind", _("未知的提交类型"))
    existing = Submission.objects.filter(key=key).first()
    if existing is not None:
        return _replay(existing, actor)
    try:
        with transaction.atomic():
            sub = Submission.objects.create(
                key=key, user=actor, kind=kind, outcome=Outcome.APPLIED, made_at=made_at
            )
            try:
                with transaction.atomic():  # a refusal undoes the write, the key keeps its answer
                    sub.result = _apply(kind, actor, payload, photos, key)
            except ApplicationError as error:
                sub.outcome = (
                    Outcome.CONFLICT if workflow.is_conflict(error.code) else Outcome.REFUSED
                )
                sub.message = refusal_words(kind, payload, error)[:300]
                sub.result = {"code": error.code, "field": error.field}
            sub.save(update_fields=["outcome", "message", "result", "updated_at"])
            audit_record(
                actor=actor,
                action="field.submission",
                target_type="field.Submission",
                target_id=sub.pk,
                fields=["kind", "outcome"],
            )
    except IntegrityError:
        # The same key committed by a concurrent request: its answer is ours.
        return _replay(Submission.objects.get(key=key), actor)
    return Applied(sub, replayed=False)


def _replay(existing: Submission, actor: User) -> Applied:
    if existing.user_id != actor.pk:
        raise ValidationFailed("key", _("提交编号无效"))
    return Applied(existing, replayed=True)
