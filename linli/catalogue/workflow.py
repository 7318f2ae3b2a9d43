"""Pure rules of the application workflow: which action leads from which status to which,
and which role may take it. No ORM here; ``services.application_transition`` applies it.

Flow: draft → submitted → pre_review (community) → returned (补正, clock paused) →
resubmitted → pre_review/forwarded → approved | rejected. Instant items go from submitted
straight to approved | rejected by the rule, or to pre_review when the rule cannot be decided
from the registry. Community-level items are decided by the community at pre-review.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from linli.accounts.choices import Role
from linli.catalogue.choices import ApplicationAction as A
from linli.catalogue.choices import ApplicationStatus as S
from linli.catalogue.choices import CatalogueErrorCode, ItemLevel
from linli.core.errors import ApplicationError, ValidationFailed

# Pseudo-role of the rule engine deciding an instant item.
SYSTEM = "system"

TRANSITIONS: dict[tuple[str, str], str] = {
    (S.DRAFT, A.SUBMIT): S.SUBMITTED,
    (S.DRAFT, A.WITHDRAW): S.WITHDRAWN,
    # The nominal target; the rule's outcome picks the real one (INSTANT_OUTCOMES).
    (S.SUBMITTED, A.INSTANT_DECIDE): S.APPROVED,
    (S.SUBMITTED, A.START_PRE_REVIEW): S.PRE_REVIEW,
    (S.SUBMITTED, A.WITHDRAW): S.WITHDRAWN,
    (S.PRE_REVIEW, A.RETURN_FOR_CORRECTION): S.RETURNED,
    (S.PRE_REVIEW, A.FORWARD): S.FORWARDED,
    (S.PRE_REVIEW, A.APPROVE): S.APPROVED,
    (S.PRE_REVIEW, A.REJECT): S.REJECTED,
    (S.PRE_REVIEW, A.WITHDRAW): S.WITHDRAWN,
    (S.RETURNED, A.RESUBMIT): S.RESUBMITTED,
    (S.RETURNED, A.WITHDRAW): S.WITHDRAWN,
    (S.RESUBMITTED, A.START_PRE_REVIEW): S.PRE_REVIEW,
    (S.RESUBMITTED, A.FORWARD): S.FORWARDED,
    (S.RESUBMITTED, A.WITHDRAW): S.WITHDRAWN,
    (S.FORWARDED, A.APPROVE): S.APPROVED,
    (S.FORWARDED, A.REJECT): S.REJECTED,
    (S.FORWARDED, A.RETURN_FOR_CORRECTION): S.RETURNED,
    (S.FORWARDED, A.WITHDRAW): S.WITHDRAWN,
}

# Outcome of the instant rule (passed / failed / undecidable) → status.
INSTANT_OUTCOMES: dict[bool | None, str] = {
    True: S.APPROVED,
    False: S.REJECTED,
    None: S.PRE_REVIEW,
}

_APPLICANT_SIDE = frozenset({Role.RESIDENT, Role.COMMUNITY_STAFF, Role.STREET_STAFF})
_COMMUNITY_SIDE = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN})
_DEPARTMENT_SIDE = frozenset({Role.DEPARTMENT_STAFF, Role.DISTRICT_ADMIN})

# Actions a resident may take, and only on their own application.
OWNER_ACTIONS: frozenset[str] = frozenset({A.SUBMIT, A.RESUBMIT, A.WITHDRAW})

# Actions that close the application with a decision.
DECIDING_ACTIONS: frozenset[str] = frozenset({A.INSTANT_DECIDE, A.APPROVE, A.REJECT})


def roles_for(status: str, action: str, *, item_level: str) -> frozenset[str]:
    """Roles that may take ``action`` from ``status`` (empty when the step does not exist)."""
    if (status, action) not in TRANSITIONS:
        return frozenset()
    if action == A.INSTANT_DECIDE:
        return frozenset({SYSTEM})
    if action in OWNER_ACTIONS:
        return _APPLICANT_SIDE
    if action in {A.APPROVE, A.REJECT}:
        if status == S.PRE_REVIEW:
            # Only items the community itself handles are decided at pre-review.
            return _COMMUNITY_SIDE if item_level == ItemLevel.COMMUNITY else frozenset()
        return _DEPARTMENT_SIDE
    if action == A.RETURN_FOR_CORRECTION and status == S.FORWARDED:
        return _DEPARTMENT_SIDE
    return _COMMUNITY_SIDE


def can_act(role: str, status: str, action: str, *, item_level: str, is_owner: bool = False) -> bool:
    """Whether ``role`` may take ``action`` now; residents only on their own application."""
    if role not in roles_for(status, action, item_level=item_level):
        return False
    return role != Role.RESIDENT or is_owner


def allowed_actions(status: str, role: str, *, item_level: str, is_owner: bool = False) -> list[str]:
    """Actions ``role`` may take from ``status``, in the order of the action enum."""
    return [a.value for a in A if can_act(role, status, a, item_level=item_level, is_owner=is_owner)]


def next_status(
    status: str, action: str, *, rule_passed: bool | None = None, missing: Sequence[str] | None = None,
) -> str:
    """The status after ``action``; an illegal step raises ``ApplicationError``.

    ``rule_passed`` picks the target of ``instant_decide``; ``return_for_correction`` needs
    the exact, non-empty list of what is missing.
    """
    target = TRANSITIONS.get((status, action))
    if target is None:
        raise ApplicationError(
            CatalogueErrorCode.ILLEGAL_TRANSITION,
            _("当前状态“%(status)s”不能执行“%(action)s”") % {
                "status": _label(S, status), "action": _label(A, action),
            },
            field="action",
        )
    if action == A.RETURN_FOR_CORRECTION:
        items = [m.strip() for m in (missing or []) if isinstance(m, str) and m.strip()]
        if not items:
            raise ValidationFailed("missing", _("退回补正须列明缺少或需更正的材料"))
    if action == A.INSTANT_DECIDE:
        return INSTANT_OUTCOMES[rule_passed]
    return target


def pauses_clock(action: str) -> bool:
    """Correction stops the legal clock until the applicant resubmits."""
    return action == A.RETURN_FOR_CORRECTION


def resumes_clock(action: str) -> bool:
    return action == A.RESUBMIT


def _label(choices: type[S] | type[A], value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value
