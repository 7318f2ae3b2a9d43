"""Pure rules of the cases app: the transition table, who may act, deadlines, supervision,
dispatch-rule matching. No ORM here; services feed plain values in.

The loop follows GB/T 30428 (数字化城市管理): 立案 → 派遣 → 处置 → 反馈 → 核查 → 结案 → 评价.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from django.utils.translation import gettext as _

from linli.accounts.choices import Role
from linli.cases.choices import (
    EVENT_REGRADE,
    OPEN_STATUSES,
    CaseAction,
    CaseSource,
    CaseStage,
    CaseStatus,
    DeadlineUnit,
    DispatchTarget,
    SupervisionLevel,
)
from linli.core.calendar import (
    SHANGHAI,
    WORKDAY_END,
    WORKDAY_START,
    deadline_in_working_days,
    deadline_in_working_hours,
    is_working_day,
)
from linli.core.errors import ValidationFailed

S = CaseStatus
A = CaseAction

# Pseudo-roles besides ``accounts.Role``: the user who reported the case (a resident may
# verify and rate it), the system (auto-registration, auto-dispatch, on-spot closing) and
# the case's handler (its assignee, or staff of the department it was dispatched to).
REPORTER = "reporter"
SYSTEM = "system"
HANDLER = "handler"

# (status, action) → new status. Anything not listed is refused.
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.REPORTED, A.REGISTER): S.REGISTERED,
    (S.REPORTED, A.CANCEL): S.CANCELLED,
    (S.REPORTED, A.MERGE): S.MERGED,
    (S.REPORTED, A.HANDLE_ON_SPOT): S.HANDLED,
    (S.REGISTERED, A.HANDLE_ON_SPOT): S.HANDLED,
    (S.REGISTERED, A.DISPATCH): S.DISPATCHED,
    (S.REGISTERED, A.SUBMIT_DISPATCH): S.PENDING_APPROVAL,
    (S.REGISTERED, A.CANCEL): S.CANCELLED,
    (S.REGISTERED, A.MERGE): S.MERGED,
    (S.PENDING_APPROVAL, A.APPROVE_DISPATCH): S.DISPATCHED,
    (S.PENDING_APPROVAL, A.REJECT_DISPATCH): S.REGISTERED,
    (S.PENDING_APPROVAL, A.CANCEL): S.CANCELLED,
    (S.PENDING_APPROVAL, A.MERGE): S.MERGED,
    (S.RETURNED, A.DISPATCH): S.DISPATCHED,
    (S.RETURNED, A.SUBMIT_DISPATCH): S.PENDING_APPROVAL,
    (S.RETURNED, A.CANCEL): S.CANCELLED,
    (S.RETURNED, A.MERGE): S.MERGED,
    (S.DISPATCHED, A.ACCEPT): S.ACCEPTED,
    (S.DISPATCHED, A.REJECT_BACK): S.RETURNED,
    (S.DISPATCHED, A.REASSIGN): S.DISPATCHED,
    (S.DISPATCHED, A.MERGE): S.MERGED,
    (S.ACCEPTED, A.REPORT_BACK): S.HANDLED,
    (S.ACCEPTED, A.REJECT_BACK): S.RETURNED,
    (S.ACCEPTED, A.REASSIGN): S.DISPATCHED,
    (S.ACCEPTED, A.REQUEST_EXTENSION): S.ACCEPTED,
    (S.ACCEPTED, A.APPROVE_EXTENSION): S.ACCEPTED,
    (S.ACCEPTED, A.REJECT_EXTENSION): S.ACCEPTED,
    (S.ACCEPTED, A.SUSPEND): S.SUSPENDED,
    (S.SUSPENDED, A.RESUME): S.ACCEPTED,
    (S.HANDLED, A.VERIFY_PASS): S.VERIFIED,
    # Rework: back to the same handler, who must accept again.
    (S.HANDLED, A.VERIFY_FAIL): S.DISPATCHED,
    (S.VERIFIED, A.CLOSE): S.CLOSED,
    (S.CLOSED, A.EVALUATE): S.EVALUATED,
    (S.CLOSED, A.REOPEN): S.DISPATCHED,
    (S.EVALUATED, A.REOPEN): S.DISPATCHED,
}

_DISPATCHERS = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN})
_STREET_UP = frozenset({Role.STREET_STAFF, Role.DISTRICT_ADMIN})
_HANDLERS = frozenset({Role.GRID_WORKER, Role.DEPARTMENT_STAFF})

# Which roles may perform each action (the service adds scope and assignee checks).
ACTION_ROLES: dict[str, frozenset[str]] = {
    A.REGISTER: _DISPATCHERS | {SYSTEM},
    A.CANCEL: _DISPATCHERS,
    A.SUBMIT_DISPATCH: frozenset({Role.COMMUNITY_STAFF, SYSTEM}),
    A.APPROVE_DISPATCH: _STREET_UP,
    A.REJECT_DISPATCH: _STREET_UP,
    A.DISPATCH: _DISPATCHERS | {SYSTEM},
    A.REASSIGN: _DISPATCHERS,
    A.REJECT_BACK: _HANDLERS,
    A.ACCEPT: _HANDLERS,
    A.HANDLE_ON_SPOT: frozenset({Role.GRID_WORKER, SYSTEM}),
    A.REPORT_BACK: _HANDLERS,
    A.REQUEST_EXTENSION: _HANDLERS,
    A.APPROVE_EXTENSION: _DISPATCHERS,
    A.REJECT_EXTENSION: _DISPATCHERS,
    A.SUSPEND: _DISPATCHERS,
    A.RESUME: _DISPATCHERS,
    A.VERIFY_PASS: frozenset({Role.GRID_WORKER, REPORTER, SYSTEM}) | _DISPATCHERS,
    A.VERIFY_FAIL: frozenset({Role.GRID_WORKER, REPORTER}) | _DISPATCHERS,
    A.CLOSE: _DISPATCHERS | {SYSTEM},
    A.REOPEN: _DISPATCHERS,
    A.EVALUATE: frozenset({REPORTER}) | _DISPATCHERS,
    A.MERGE: _DISPATCHERS,
}

# Separation of duties: whoever holds one of these pseudo-roles on a case may not take the
# action, whatever other roles they hold. The handler never verifies his own work.
EXCLUDED_ROLES: dict[str, frozenset[str]] = {
    A.VERIFY_PASS: frozenset({HANDLER}),
    A.VERIFY_FAIL: frozenset({HANDLER}),
}

# Actions the handler side performs; the service checks the actor is the case's handler.
ASSIGNEE_ACTIONS: frozenset[str] = frozenset({
    A.ACCEPT, A.REPORT_BACK, A.REJECT_BACK, A.REQUEST_EXTENSION,
})
# Actions that must carry a reason in ``note``.
REASON_REQUIRED: frozenset[str] = frozenset({
    A.CANCEL, A.REJECT_BACK, A.REJECT_DISPATCH, A.SUSPEND, A.VERIFY_FAIL, A.REOPEN,
    A.REQUEST_EXTENSION, A.REJECT_EXTENSION,
})

# Which roles may open a case from which channel (integrations act as the system).
SOURCE_ROLES: dict[str, frozenset[str]] = {
    CaseSource.PATROL: frozenset({Role.GRID_WORKER}),
    CaseSource.STAFF: _DISPATCHERS,
    CaseSource.HOTLINE: _STREET_UP | {SYSTEM},
    CaseSource.RESIDENT: frozenset({Role.RESIDENT, SYSTEM}),
    CaseSource.IOT: frozenset({SYSTEM}),
    CaseSource.CAMERA: frozenset({SYSTEM}),
    CaseSource.DEPARTMENT: frozenset({Role.DEPARTMENT_STAFF, SYSTEM}),
    CaseSource.OPEN311: frozenset({Role.RESIDENT, SYSTEM}),
}
# Channels whose reports a dispatcher must accept (立案) by hand; the others are trusted.
UNTRUSTED_SOURCES: frozenset[str] = frozenset({CaseSource.RESIDENT, CaseSource.OPEN311})


def next_status(status: str, action: str) -> str | None:
    """The status ``action`` leads to from ``status``, or ``None`` when it does not apply."""
    return TRANSITIONS.get((status, action))


def role_may(role: str, action: str) -> bool:
    return role in ACTION_ROLES.get(action, frozenset())


# Who may change an open case's level (定级 / 调整等级): the dispatchers who grade intake.
REGRADE_ROLES = _DISPATCHERS
REGRADE_EVENT = EVENT_REGRADE


def regrade_refusal(*, role: str, status: str, old_level: int, new_level: int) -> tuple[str, str] | None:
    """Why a level change is refused, as (field, message), or ``None`` when it may go ahead."""
    if role not in REGRADE_ROLES:
        return "action", _("您的角色不能调整事件等级")
    if status not in OPEN_STATUSES:
        return "action", _("事件已办结,不能调整等级")
    if not 1 <= new_level <= 5:
        return "level", _("等级须为1到5")
    if new_level == old_level:
        return "level", _("新等级与当前等级相同")
    return None


def may_act(action: str, roles: Iterable[str]) -> bool:
    """Whether an actor holding ``roles`` on a case may take ``action``: one role allows it
    and no role excludes it (separation of duties)."""
    held = set(roles)
    return bool(held & ACTION_ROLES.get(action, frozenset())) and not held & EXCLUDED_ROLES.get(action, frozenset())


def allowed_actions(status: str, role: str | Iterable[str]) -> list[str]:
    """Actions the role (or any of several roles) may take on a case in ``status``, in table order."""
    roles = {role} if isinstance(role, str) else set(role)
    return [
        action for (from_status, action) in TRANSITIONS
        if from_status == status and may_act(action, roles)
    ]


def may_open(source: str, role: str) -> bool:
    return role in SOURCE_ROLES.get(source, frozenset())


def dispatch_needs_approval(*, level: int, approval_min_level: int, role: str) -> bool:
    """Community staff (and the system) need a street dispatcher's approval from this level up."""
    return level >= approval_min_level and role not in _STREET_UP


# --- Stages and deadlines -------------------------------------------------------------

STAGE_OF_STATUS: dict[str, str] = {
    S.REPORTED: CaseStage.REGISTER,
    S.REGISTERED: CaseStage.DISPATCH,
    S.PENDING_APPROVAL: CaseStage.DISPATCH,
    S.RETURNED: CaseStage.DISPATCH,
    S.DISPATCHED: CaseStage.HANDLE,
    S.ACCEPTED: CaseStage.HANDLE,
    S.HANDLED: CaseStage.VERIFY,
    S.VERIFIED: CaseStage.CLOSE,
    # The clock stops while suspended and in the final statuses.
    S.SUSPENDED: CaseStage.NONE,
    S.CLOSED: CaseStage.NONE,
    S.EVALUATED: CaseStage.NONE,
    S.CANCELLED: CaseStage.NONE,
    S.MERGED: CaseStage.NONE,
}


class CategoryDeadlines(Protocol):
    """What :func:`stage_deadline` reads from a category (the model satisfies it)."""

    register_hours: int
    dispatch_hours: int
    handle_amount: int
    handle_unit: str
    verify_hours: int
    close_hours: int


def stage_deadline(category: CategoryDeadlines, stage: str, start: datetime) -> datetime | None:
    """When ``stage`` started at ``start`` is due, in working hours/days; ``None`` for no stage."""
    if stage == CaseStage.REGISTER:
        return deadline_in_working_hours(start, category.register_hours)
    if stage == CaseStage.DISPATCH:
        return deadline_in_working_hours(start, category.dispatch_hours)
    if stage == CaseStage.HANDLE:
        if category.handle_unit == DeadlineUnit.DAYS:
            return deadline_in_working_days(start, category.handle_amount)
        return deadline_in_working_hours(start, category.handle_amount)
    if stage == CaseStage.VERIFY:
        return deadline_in_working_hours(start, category.verify_hours)
    if stage == CaseStage.CLOSE:
        return deadline_in_working_hours(start, category.close_hours)
    return None


def working_seconds_between(start: datetime, end: datetime) -> int:
    """Office seconds (08:30–17:30 of working days) between ``start`` and ``end``; 0 when
    ``end`` is not later. What a suspension keeps of a stage: deadlines in working hours
    and in working days both end in office time, so office time measures either."""
    if end <= start:
        return 0
    first, last = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
    total = timedelta()
    day = first.date()
    while day <= last.date():
        if is_working_day(day):
            opens = max(first, datetime.combine(day, WORKDAY_START, tzinfo=SHANGHAI))
            closes = min(last, datetime.combine(day, WORKDAY_END, tzinfo=SHANGHAI))
            if closes > opens:
                total += closes - opens
        day += timedelta(days=1)
    return int(total.total_seconds())


def resume_deadline(now: datetime, remaining_s: int) -> datetime:
    """The stage deadline of a case resumed at ``now`` with ``remaining_s`` office seconds
    left: the clock runs again only in office time, so the deadline moves on by exactly the
    working time the case was suspended (a weekend or holiday in between adds nothing)."""
    if remaining_s <= 0:
        return now  # it was already due when suspended
    return deadline_in_working_hours(now, remaining_s / 3600)


# --- Supervision (督办) -----------------------------------------------------------------

RED_AT = 0.5
ESCALATE_AT = 1.0


def supervision_level_for(overdue_by: timedelta, stage_length: timedelta) -> int:
    """Yellow once overdue, red at ≥ 50 % of the stage length overdue, escalated at ≥ 100 %.

    A stage of zero length counts as fully overdue as soon as it is overdue at all.
    """
    if overdue_by <= timedelta(0):
        return SupervisionLevel.NONE
    if stage_length <= timedelta(0):
        return SupervisionLevel.ESCALATED
    share = overdue_by / stage_length
    if share >= ESCALATE_AT:
        return SupervisionLevel.ESCALATED
    if share >= RED_AT:
        return SupervisionLevel.RED
    return SupervisionLevel.YELLOW


# --- Dispatch-rule matching -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleView:
    """A dispatch rule as plain values: ``area_path`` is the area's ``path`` ("" = anywhere)."""

    rule_id: int
    category_id: int | None
    area_path: str
    target: str
    department_id: int | None
    priority: int = 100
    approval_min_level: int = 6


def _specificity(rule: RuleView, category_id: int) -> tuple[int, int, int]:
    category_rank = 2 if rule.category_id == category_id else (0 if rule.category_id is None else 1)
    return (category_rank, rule.area_path.count("/"), rule.priority)


def match_rule(
    rules: Sequence[RuleView], category_id: int, area_path: str,
    *, category_parent_id: int | None = None,
) -> RuleView | None:
    """The most specific rule for a case: 小类 over its 大类 over any category, then the
    deepest area containing the case's grid (``area_path`` is the grid's path; "" when the
    case has no grid, which only rules for any area match), then the highest priority."""
    best: RuleView | None = None
    best_key: tuple[int, int, int, int] | None = None
    for rule in rules:
        if rule.category_id is not None and rule.category_id not in (category_id, category_parent_id):
            continue
        if rule.area_path and not (area_path and area_path.startswith(rule.area_path)):
            continue
        # The lower id breaks ties, so the answer never depends on the input order.
        key = (*_specificity(rule, category_id), -rule.rule_id)
        if best_key is None or key > best_key:
            best, best_key = rule, key
    return best


# --- Reference data as the district administrator edits it ---------------------------

# A stage of more than a month of working hours is a typing error, not a deadline.
STAGE_HOURS_MAX = 200
HANDLE_MAX: dict[str, int] = {DeadlineUnit.HOURS: 200, DeadlineUnit.DAYS: 60}
APPROVAL_OFF = 6  # levels are 1–5: a threshold of 6 never asks for approval


def validate_category_settings(
    *, default_level: int, register_hours: int, dispatch_hours: int, handle_amount: int, handle_unit: str,
    verify_hours: int, close_hours: int,
) -> None:
    """A category's level and stage deadlines, or a refusal naming the field."""
    if not 1 <= default_level <= 5:
        raise ValidationFailed("default_level", _("默认等级须为1到5"))
    for name, hours in (("register_hours", register_hours), ("dispatch_hours", dispatch_hours),
                        ("verify_hours", verify_hours), ("close_hours", close_hours)):
        if not 1 <= hours <= STAGE_HOURS_MAX:
            raise ValidationFailed(name, _("时限须为1到%(max)d个工作小时") % {"max": STAGE_HOURS_MAX})
    if handle_unit not in HANDLE_MAX:
        raise ValidationFailed("handle_unit", _("处置时限单位无效"))
    if not 1 <= handle_amount <= HANDLE_MAX[handle_unit]:
        raise ValidationFailed("handle_amount", _("处置时限须为1到%(max)d") % {"max": HANDLE_MAX[handle_unit]})


def validate_dispatch_rule(*, target: str, has_department: bool, priority: int, approval_min_level: int) -> None:
    """A rule sends cases to a department (or team) it names, or to the grid's worker, never
    to both; priorities and the approval threshold stay in range."""
    if target not in DispatchTarget.values:
        raise ValidationFailed("target", _("未知的派遣对象"))
    if target == DispatchTarget.GRID_WORKER and has_department:
        raise ValidationFailed("department", _("派给网格员的规则不能指定部门"))
    if target != DispatchTarget.GRID_WORKER and not has_department:
        raise ValidationFailed("department", _("请选择处置部门"))
    if not -1000 <= priority <= 1000:
        raise ValidationFailed("priority", _("优先级须在-1000到1000之间"))
    if not 1 <= approval_min_level <= APPROVAL_OFF:
        raise ValidationFailed("approval_min_level", _("需审批的最低等级须为1到6(6表示不需审批)"))
