"""Moving an application through the workflow: ``application_transition`` (with the internal
``_apply`` it shares with submission) is the only writer of ``Application.status``; the
overdue sweep marks late ones. Every step queues a notice to the applicant on commit."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.catalogue import workflow
from linli.catalogue.choices import (
    OPEN_STATUSES,
    ApplicationAction,
    ApplicationStatus,
    CatalogueErrorCode,
    Decision,
)
from linli.catalogue.errors import ApplicationConflict
from linli.catalogue.forms_schema import form_fields
from linli.catalogue.models import Application, ApplicationEvent
from linli.catalogue.selectors import application_visible_to
from linli.catalogue.services.shared import APPLICATION_TARGET, SWEEP_ACTOR, _role, _user
from linli.core import pii
from linli.core.actors import Actor, SystemActor, actor_label
from linli.core.calendar import (
    SHANGHAI,
    add_working_days,
    deadline_in_working_days,
    working_days_between,
)
from linli.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from linli.core.services import audit_record
from linli.notify.choices import Channel
from linli.notify.services import notification_enqueue, notification_enqueue_to_address
from linli.registry.text import PII_PHONE

logger = logging.getLogger(__name__)

# Called with each application the moment it is approved, in the transition's transaction:
# apps above the catalogue (care records the benefit it grants) register in AppConfig.ready.
application_approved_listeners: list[Callable[..., object]] = []


def _visible_or_404(actor: Actor, application: Application) -> Application:
    if isinstance(actor, SystemActor):
        return application
    if not application_visible_to(user=_user(actor), application_id=application.pk):
        raise NotFound(_("申请不存在"))
    return application


def _is_owner(actor: Actor, application: Application) -> bool:
    return isinstance(actor, User) and application.submitted_by_id == actor.pk


def _shift_due(due_at: datetime, days: int) -> datetime:
    local = due_at.astimezone(SHANGHAI)
    return datetime.combine(add_working_days(local.date(), days), local.timetz())


def _notice_extra(event: ApplicationEvent) -> str:
    if event.missing:
        return str(_("请补正：")) + "、".join(event.missing)
    if event.to_status == ApplicationStatus.REJECTED and event.note:
        return str(_("原因：")) + event.note
    return ""


def _recipient_phone(app: Application) -> str:
    for f in form_fields(app.item_version.form):
        token = app.data.get(f"{f['key']}_enc") if f["type"] == "phone" else None
        if token:
            return pii.decrypt(token, field=f"application.{f['key']}")
    if app.applicant is not None and app.applicant.phone_enc:
        return pii.decrypt(app.applicant.phone_enc, field=PII_PHONE)
    return ""


def _staff_to_act(app: Application, event: ApplicationEvent) -> tuple[str, list[int]]:
    """Who must act next: the community's staff for pre-review, the department's for a decision."""
    if event.to_status in (ApplicationStatus.SUBMITTED, ApplicationStatus.RESUBMITTED):
        return "application.pre_review", list(User.objects.filter(
            role=Role.COMMUNITY_STAFF, is_active=True, assignments__area_id=app.community_id,
        ).values_list("pk", flat=True).distinct())
    if event.to_status == ApplicationStatus.FORWARDED:
        return "application.forwarded", list(User.objects.filter(
            role=Role.DEPARTMENT_STAFF, is_active=True, department_id=app.item_version.item.department_id,
        ).values_list("pk", flat=True))
    return "", []


def _queue_notice(app: Application, event: ApplicationEvent) -> None:
    """In the transition's transaction: the applicant's SMS (status, correction, decision) and
    the staff who must act next, through the notify outbox."""
    item = app.item_version.item.name
    link = f"/services/applications/{app.pk}/"
    phone = _recipient_phone(app)
    if phone:
        notification_enqueue_to_address(
            channel=Channel.SMS, address=phone, event_type="application.status",
            variables={"number": app.number, "item": item, "status": str(ApplicationStatus(event.to_status).label),
                       "extra": _notice_extra(event)},
            dedup_key=f"application-event:{event.pk}", object_type=APPLICATION_TARGET, object_id=app.pk)
    event_type, staff = _staff_to_act(app, event)
    if staff:
        notification_enqueue(recipient_ids=staff, event_type=event_type, variables={"number": app.number, "item": item},
                             dedup_key=f"application-event:{event.pk}", object_type=APPLICATION_TARGET,
                             object_id=app.pk, link=link)


def _apply(
    app: Application, *, action: str, actor: Actor, now: datetime, note: str = "",
    missing: Sequence[str] | None = None, rule_passed: bool | None = None, request_id: str = "",
    fields: Sequence[str] = (),
) -> ApplicationEvent:
    """Move a locked application one step; the caller holds the transaction."""
    before = app.status
    after = workflow.next_status(before, action, rule_passed=rule_passed, missing=missing)
    clean_missing = [m.strip() for m in (missing or []) if isinstance(m, str) and m.strip()]
    if action == ApplicationAction.SUBMIT:
        app.submitted_at = now
        app.due_at = deadline_in_working_days(now, app.item_version.time_limit_days)
    if workflow.pauses_clock(action):
        app.paused_at = now
    if workflow.resumes_clock(action) and app.paused_at is not None:
        paused = max(working_days_between(app.paused_at.astimezone(SHANGHAI).date(), now.astimezone(SHANGHAI).date()), 0)
        app.paused_working_days += paused
        if app.due_at is not None and paused:
            app.due_at = _shift_due(app.due_at, paused)
        app.paused_at = None
    if after in {ApplicationStatus.APPROVED, ApplicationStatus.REJECTED}:
        app.decided_at = now
        app.decision = Decision.APPROVED if after == ApplicationStatus.APPROVED else Decision.REJECTED
        app.decision_reason = note
    if after == ApplicationStatus.WITHDRAWN:
        app.paused_at = None
    app.status = after
    app.version += 1
    app.save()
    event = ApplicationEvent.objects.create(
        application=app, action=action, from_status=before, to_status=after, actor=_user(actor),
        actor_label=actor_label(actor)[:150], note=note, missing=clean_missing, at=now,
    )
    audit_record(actor=actor, action=f"catalogue.application.{action}", target_type=APPLICATION_TARGET,
                 target_id=app.pk, fields=["status", *fields], reason=f"{before}->{after}",
                 request_id=request_id)
    _queue_notice(app, event)
    if after == ApplicationStatus.APPROVED:
        for listener in application_approved_listeners:
            listener(application=app, actor=actor, now=now)
    return event


def _conflict(app: Application, actor: Actor, message: str) -> ApplicationConflict:
    return ApplicationConflict(message, extra={
        "status": app.status, "version": app.version,
        "allowed_actions": workflow.allowed_actions(
            app.status, _role(actor), item_level=app.item_version.item.level, is_owner=_is_owner(actor, app)),
    })


def application_transition(
    *,
    application: Application,
    action: str,
    actor: Actor,
    expected_version: int | None = None,
    note: str = "",
    missing: Sequence[str] | None = None,
    request_id: str = "",
) -> Application:
    """Take one workflow step; the only writer of ``Application.status``.

    Locks the row; a stale ``expected_version`` is refused as a conflict carrying the
    current status and the actions still allowed. Correction pauses the legal clock, the
    resubmission resumes it and moves ``due_at`` by the working days paused.
    """
    if action not in ApplicationAction.values:
        raise ValidationFailed("action", _("未知操作"))
    if action == ApplicationAction.INSTANT_DECIDE:
        raise PermissionDenied(_("即时判定只能由规则执行"))
    _visible_or_404(actor, application)
    if action == ApplicationAction.REJECT and not note.strip():
        raise ValidationFailed("note", _("不予办理须说明理由"))
    with transaction.atomic():
        app = (Application.objects.select_for_update(of=("self",))
               .select_related("item_version__item").get(pk=application.pk))
        if expected_version is not None and expected_version != app.version:
            raise _conflict(app, actor, _("该申请已被他人处理,请刷新后重试"))
        level = app.item_version.item.level
        if (app.status, action) not in workflow.TRANSITIONS:
            refused = _conflict(app, actor, "")
            raise ApplicationError(
                CatalogueErrorCode.ILLEGAL_TRANSITION,
                _("当前状态“%(s)s”不能执行该操作") % {"s": app.get_status_display()},
                field="action", extra=refused.extra,
            )
        if not workflow.can_act(_role(actor), app.status, action, item_level=level, is_owner=_is_owner(actor, app)):
            raise PermissionDenied(_("无权执行该操作"))
        _apply(app, action=action, actor=actor, now=timezone.now(), note=note.strip(), missing=missing,
               request_id=request_id)
    return app


def application_overdue_sweep(*, now: datetime) -> int:
    """Mark open applications past their deadline (clock running) as overdue and supervised.

    Idempotent: each application is marked once, by a compare-and-swap on ``overdue_at``;
    two sweeps running at once never mark or audit the same one twice.
    """
    candidates = list(
        Application.objects.filter(
            status__in=sorted(OPEN_STATUSES), due_at__lt=now, paused_at__isnull=True, overdue_at__isnull=True,
        ).values_list("pk", flat=True)
    )
    marked = 0
    for pk in candidates:
        with transaction.atomic():
            won = Application.objects.filter(pk=pk, overdue_at__isnull=True).update(
                overdue_at=now, supervised_at=now, updated_at=now)
            if won:
                audit_record(actor=SWEEP_ACTOR, action="catalogue.application.overdue",
                             target_type=APPLICATION_TARGET, target_id=pk, fields=["overdue_at", "supervised_at"])
                marked += 1
    if marked:
        logger.info("overdue sweep marked %s applications", marked)
    return marked
