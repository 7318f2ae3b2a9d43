"""Background jobs of the cases app (django-tasks): notifications and the supervision sweep.

Notifications go to the notify app's outbox (:func:`linli.notify.services.notification_enqueue`):
an inbox row per recipient and a delivery per channel they can be reached on, written in
one transaction; the relay (``linli notify relay``) sends them. The job itself is enqueued
in the case's transaction (database task backend), so a committed case change always gets
its notifications. Messages name the case number and the step, never personal data.
"""

from __future__ import annotations

import logging
from typing import Final

from django.db import transaction
from django.urls import reverse
from django_tasks import task

from linli.accounts.choices import Role
from linli.accounts.models import AreaAssignment, User
from linli.cases.models import Case
from linli.notify.services import notification_enqueue

logger = logging.getLogger(__name__)

# The case step (``kind``) → the notify event type (linli/notify/events.py holds the wording).
EVENT_OF_KIND: Final[dict[str, str]] = {
    "dispatched": "case.dispatched", "to_dispatch": "case.to_dispatch", "unruled": "case.unruled",
    "returned": "case.returned", "pending_approval": "case.pending_approval", "extension": "case.extension",
    "handled": "case.handled", "verified": "case.verified", "closed": "case.closed",
    "supervise_1": "case.overdue", "supervise_2": "case.overdue_severe", "supervise_3": "case.supervised",
}


def _dispatchers(grid_ids: set[int], roles: tuple[str, ...]) -> dict[int, set[int]]:
    """Staff of the given roles whose assigned area contains each grid."""
    from linli.geo.models import Area

    paths = dict(Area.objects.filter(pk__in=grid_ids).values_list("pk", "path"))
    ancestors = {int(p) for path in paths.values() for p in path.strip("/").split("/") if p}
    rows = AreaAssignment.objects.filter(
        area_id__in=ancestors, user__role__in=roles, user__is_active=True,
    ).values_list("area_id", "user_id")
    by_area: dict[int, set[int]] = {}
    for area_id, user_id in rows:
        by_area.setdefault(area_id, set()).add(user_id)
    result: dict[int, set[int]] = {}
    for grid_id, path in paths.items():
        users: set[int] = set()
        for part in path.strip("/").split("/"):
            if part:
                users |= by_area.get(int(part), set())
        result[grid_id] = users
    return result


def _recipients(cases: list[Case], kind: str) -> dict[int, set[int]]:
    if kind == "dispatched":
        departments = {c.department_id for c in cases if c.assignee_id is None and c.department_id is not None}
        staff: dict[int, set[int]] = {}
        for user_id, department_id in User.objects.filter(
            role=Role.DEPARTMENT_STAFF, department_id__in=departments, is_active=True,
        ).values_list("pk", "department_id"):
            staff.setdefault(department_id, set()).add(user_id)
        return {c.pk: ({c.assignee_id} if c.assignee_id else staff.get(c.department_id, set())
                       if c.department_id is not None else set()) for c in cases}
    if kind == "closed":
        return {c.pk: {c.reporter_id} if c.reporter_id else set() for c in cases}
    if kind == "handled":
        workers = _dispatchers({c.grid_id for c in cases if c.grid_id}, (Role.GRID_WORKER,))
        return {c.pk: workers.get(c.grid_id, set()) - {c.assignee_id} if c.grid_id else set() for c in cases}
    roles: tuple[str, ...] = (Role.COMMUNITY_STAFF,)
    if kind in ("pending_approval", "supervise_3", "unruled"):
        roles = (Role.STREET_STAFF,)
    staff_of = _dispatchers({c.grid_id for c in cases if c.grid_id}, roles)
    result = {c.pk: set(staff_of.get(c.grid_id, set())) if c.grid_id else set() for c in cases}
    if kind.startswith("supervise"):
        for c in cases:
            if c.assignee_id:
                result[c.pk].add(c.assignee_id)
    return result


@task()
def case_notify(*, case_ids: list[int], kind: str) -> int:
    """Notify the people concerned by step ``kind`` of the cases; returns how many new
    notifications. Safe to run twice: the dedup key names the case, the step and when the
    case entered it."""
    event_type = EVENT_OF_KIND.get(kind)
    if event_type is None:
        return 0
    cases = list(Case.objects.filter(pk__in=case_ids).select_related("department"))
    recipients = _recipients(cases, kind)
    written = 0
    with transaction.atomic():
        for case in cases:
            users = recipients.get(case.pk, set())
            if not users:
                continue
            moment = case.stage_started_at or case.updated_at
            written += notification_enqueue(
                recipient_ids=users, event_type=event_type, variables={"number": case.number},
                dedup_key=f"case:{case.pk}:{kind}:{int(moment.timestamp()) if moment else 0}",
                object_type="cases.Case", object_id=case.pk,
                link=reverse("cases:case", args=[case.pk]))
    return written


@task()
def case_supervision_sweep_task() -> int:
    """The sweeper as a job (schedule it every few minutes; safe to overlap)."""
    from linli.cases.services import case_supervision_sweep

    return case_supervision_sweep()
