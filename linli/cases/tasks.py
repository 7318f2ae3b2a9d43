"""Background jobs of the cases app (django-tasks): notifications and the supervision sweep.

Notifications are recorded as ``CaseNotification`` rows (the in-app inbox) and handed to a
pluggable sender for channels outside linli (SMS gateway, app push). The sender is named by
``settings.LINLI_CASES_NOTIFY_SENDER`` (dotted path to a class); the default only logs.
Messages name the case number and the step, never personal data.
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from linli.accounts.choices import Role
from linli.accounts.models import AreaAssignment, User
from linli.cases.models import Case, CaseNotification

logger = logging.getLogger(__name__)


class NotificationSender(Protocol):
    """Delivers one message to one user over an outside channel."""

    def send(self, *, user_id: int, case_number: str, message: str) -> None: ...


class LogSender:
    """Default sender: writes a log line (no gateway configured)."""

    def send(self, *, user_id: int, case_number: str, message: str) -> None:
        logger.info("notify user %s about %s: %s", user_id, case_number, message)


class RecordingSender:
    """Test double: keeps what it was asked to send."""

    sent: list[tuple[int, str, str]] = []  # noqa: RUF012 -- shared on purpose, tests clear it

    def send(self, *, user_id: int, case_number: str, message: str) -> None:
        RecordingSender.sent.append((user_id, case_number, message))


def notification_sender() -> NotificationSender:
    path = getattr(settings, "LINLI_CASES_NOTIFY_SENDER", "linli.cases.tasks.LogSender")
    sender: NotificationSender = import_string(path)()
    return sender


# Rendered in the language active where the task runs (LANGUAGE_CODE in a worker); the
# inbox keeps the rendered text.
MESSAGES: dict[str, Promise] = {
    "dispatched": _("事件%(number)s已派遣给您,请及时处置"),
    "to_dispatch": _("有新事件%(number)s待立案/派遣"),
    "unruled": _("事件%(number)s没有匹配的派遣规则,请街道派遣"),
    "returned": _("事件%(number)s被退回,请重新派遣"),
    "pending_approval": _("事件%(number)s派遣待审批"),
    "extension": _("事件%(number)s申请延期,请审批"),
    "handled": _("事件%(number)s已处置反馈,请核查"),
    "verified": _("事件%(number)s已核查,请结案"),
    "closed": _("您反映的事件%(number)s已办结,请评价"),
    "supervise_1": _("事件%(number)s已超期(黄牌督办)"),
    "supervise_2": _("事件%(number)s严重超期(红牌督办)"),
    "supervise_3": _("事件%(number)s已提级督办"),
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
    """Record inbox notifications for ``kind`` on the cases and send them; returns the count."""
    template = MESSAGES.get(kind)
    if template is None:
        return 0
    cases = list(Case.objects.filter(pk__in=case_ids).select_related("department"))
    recipients = _recipients(cases, kind)
    sender = notification_sender()
    now = timezone.now()
    sends = [
        (user_id, case, str(template) % {"number": case.number})
        for case in cases for user_id in sorted(recipients.get(case.pk, set()))
    ]
    CaseNotification.objects.bulk_create([
        CaseNotification(case=case, recipient_id=user_id, kind=kind, message=message, sent_at=now)
        for user_id, case, message in sends
    ])
    for user_id, case, message in sends:
        try:
            sender.send(user_id=user_id, case_number=case.number, message=message)
        except Exception:  # one gateway failure must not lose the others
            logger.exception("sending case notification failed")
    return len(sends)


@task()
def case_supervision_sweep_task() -> int:
    """The sweeper as a job (schedule it every few minutes; safe to overlap)."""
    from linli.cases.services import case_supervision_sweep

    return case_supervision_sweep()
