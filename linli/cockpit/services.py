"""Writes of the cockpit: start an incident, mark a household, close with a report.

Each function owns its transaction and writes an audit entry inside it (field names only),
so the whole incident — start, every mark, phone reveals, exports, close — is in the audit log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Final

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.cockpit import selectors, workflow
from linli.cockpit.choices import MARK_STATES, CheckState
from linli.cockpit.models import Incident, IncidentHousehold, IncidentTask
from linli.core.errors import ErrorCode, NotFound, PermissionDenied, ValidationFailed
from linli.core.services import audit_record
from linli.geo.models import Area
from linli.notify.choices import Level
from linli.notify.services import notification_enqueue
from linli.registry.models import Person
from linli.registry.services import person_reveal

INCIDENT: Final = "cockpit.incident"
INCIDENT_HOUSEHOLD: Final = "cockpit.incident_household"


def _require_operator(actor: User) -> None:
    if actor.role not in selectors.OPERATOR_ROLES:
        raise PermissionDenied(_("只有社区、街道或区级指挥人员可以发起应急核查"))


INCIDENT_TASK_EVENT: Final = "cockpit.incident_task"


def incident_tasks_notify(*, incident: Incident, tasks: Sequence[IncidentTask]) -> int:
    """One emergency-level notification per task to its grid worker; returns how many are new.

    Emergency level: quiet hours do not hold it back. Runs in the caller's transaction, so
    an incident that fails to start leaves no message behind; ``notified_at`` records it.
    """
    link = reverse("cockpit:check", args=[incident.pk])
    sent = 0
    for task in tasks:
        sent += notification_enqueue(
            recipient_ids=[task.worker_id], event_type=INCIDENT_TASK_EVENT,
            variables={"title": incident.title, "households": task.households},
            dedup_key=f"cockpit.incident:{incident.pk}:task:{task.worker_id}",
            object_type=INCIDENT, object_id=incident.pk, link=link, level=Level.EMERGENCY)
    now = timezone.now()
    IncidentTask.objects.filter(pk__in=[t.pk for t in tasks]).update(notified_at=now)
    for task in tasks:
        task.notified_at = now
    return sent


def incident_start(
    *, actor: User, title: str, shape: object = None, building_ids: Sequence[int] | None = None,
    request_id: str = "",
) -> Incident:
    """Snapshot every household in the area and give each responsible grid worker a task."""
    _require_operator(actor)
    title = title.strip()
    if not title:
        raise ValidationFailed("title", _("请填写事件名称"))
    roster = selectors.area_roster_for_user(user=actor, shape=shape, building_ids=building_ids)
    if not roster.households:
        raise ValidationFailed("shape", _("范围内没有登记住户"))
    grid_ids = sorted({h.grid_id for h in roster.households})
    path = workflow.common_path(Area.objects.filter(pk__in=grid_ids).values_list("path", flat=True))
    area = Area.objects.filter(path=path).first()
    if area is None:  # grids in different trees: impossible with one district root
        raise ValidationFailed("shape", _("范围跨越了不相连的区域"))
    now = timezone.now()
    with transaction.atomic():
        incident = Incident.objects.create(
            title=title[:100], area=area, polygon=workflow.ring_geojson(roster.ring),
            started_by=actor, started_at=now)
        IncidentHousehold.objects.bulk_create([
            IncidentHousehold(
                incident=incident, household_id=h.household_id, building_id=h.building_id, grid_id=h.grid_id,
                worker=roster.workers.get(h.grid_id), unit_number=h.unit_number, room_number=h.room_number,
                floor=h.floor, residents=len(h.members), priority=h.priority, tag_kinds=h.kinds)
            for h in roster.households
        ], batch_size=500)
        per_worker = Counter(roster.workers[h.grid_id].pk for h in roster.households if h.grid_id in roster.workers)
        tasks = IncidentTask.objects.bulk_create([
            IncidentTask(incident=incident, worker_id=worker_id, households=n) for worker_id, n in per_worker.items()
        ])
        incident_tasks_notify(incident=incident, tasks=tasks)
        audit_record(actor=actor, action="incident.start", target_type=INCIDENT, target_id=incident.pk,
                     fields=["polygon", "households", "tasks"], reason=title[:100], request_id=request_id)
    return incident


def incident_household_mark(
    *, actor: User, item: IncidentHousehold, state: str, note: str = "", request_id: str = "",
) -> IncidentHousehold:
    """Set a household's check state; the last mark wins and each is audited."""
    if state not in MARK_STATES:
        raise ValidationFailed("state", _("请选择核查结果"))
    with transaction.atomic():
        locked = IncidentHousehold.objects.select_for_update().select_related("incident").get(pk=item.pk)
        if not locked.incident.is_open:
            raise ValidationFailed("state", _("该应急事件已结束,不能再标记"), code=ErrorCode.CONFLICT)
        locked.state = state
        locked.note = note.strip()[:200]
        locked.marked_by = actor
        locked.marked_at = timezone.now()
        locked.save(update_fields=["state", "note", "marked_by", "marked_at", "updated_at"])
        audit_record(actor=actor, action="incident.mark", target_type=INCIDENT_HOUSEHOLD, target_id=locked.pk,
                     fields=["state", "note"] if locked.note else ["state"], request_id=request_id)
    return locked


def incident_close(*, actor: User, incident: Incident, summary: str = "", request_id: str = "") -> Incident:
    _require_operator(actor)
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if not locked.is_open:
            raise ValidationFailed("incident", _("该应急事件已结束"), code=ErrorCode.CONFLICT)
        locked.closed_at = timezone.now()
        locked.closed_by = actor
        locked.summary = summary.strip()[:2000]
        locked.save(update_fields=["closed_at", "closed_by", "summary", "updated_at"])
        pending = IncidentHousehold.objects.filter(incident=locked, state=CheckState.PENDING).count()
        audit_record(actor=actor, action="incident.close", target_type=INCIDENT, target_id=locked.pk,
                     fields=["closed_at", "summary"], reason=_("未核查 %(n)s 户") % {"n": pending},
                     request_id=request_id)
    return locked


def incident_export_record(*, actor: User, incident: Incident, kind: str, request_id: str = "") -> None:
    """Log that the report or the CAP alert left the system."""
    with transaction.atomic():
        audit_record(actor=actor, action=f"incident.export_{kind}", target_type=INCIDENT, target_id=incident.pk,
                     fields=["households"], request_id=request_id)


def resident_phone_reveal(*, actor: User, person_id: int, reason: str, request_id: str = "") -> str:
    """A resident's full phone number, through the registry's audited reveal."""
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise NotFound()
    return person_reveal(actor=actor, person=person, field="phone", reason=reason, request_id=request_id)
