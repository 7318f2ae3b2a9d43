"""The application workflow table, checked over every (status, action) pair and role."""

from __future__ import annotations

import itertools

import pytest

from linli.accounts.choices import Role
from linli.catalogue import workflow
from linli.catalogue.choices import ApplicationAction as A
from linli.catalogue.choices import ApplicationStatus as S
from linli.catalogue.choices import CatalogueErrorCode, ItemLevel
from linli.core.errors import ApplicationError, ValidationFailed

# The expected table, written out independently of workflow.TRANSITIONS.
EXPECTED: dict[tuple[str, str], str] = {
    (S.DRAFT, A.SUBMIT): S.SUBMITTED,
    (S.DRAFT, A.WITHDRAW): S.WITHDRAWN,
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
ALL_PAIRS = list(itertools.product(S.values, A.values))
ROLES = [*Role.values, workflow.SYSTEM]


def test_the_table_is_exactly_the_documented_flow() -> None:
    assert workflow.TRANSITIONS == EXPECTED


@pytest.mark.parametrize(("status", "action"), ALL_PAIRS)
def test_every_pair_either_moves_to_the_table_target_or_is_refused(status: str, action: str) -> None:
    # given a status and an action (with a missing list so correction can be legal)
    expected = EXPECTED.get((status, action))
    # when / then
    if expected is None:
        with pytest.raises(ApplicationError) as refused:
            workflow.next_status(status, action, missing=["身份证复印件"], rule_passed=True)
        assert refused.value.code == CatalogueErrorCode.ILLEGAL_TRANSITION
    else:
        assert workflow.next_status(status, action, missing=["身份证复印件"], rule_passed=True) == expected


@pytest.mark.parametrize("status", [S.APPROVED, S.REJECTED, S.WITHDRAWN])
def test_final_statuses_allow_no_action_for_anyone(status: str) -> None:
    for role in ROLES:
        assert workflow.allowed_actions(status, role, item_level=ItemLevel.STREET, is_owner=True) == []


@pytest.mark.parametrize(("passed", "expected"), [(True, S.APPROVED), (False, S.REJECTED), (None, S.PRE_REVIEW)])
def test_instant_decision_follows_the_rule_outcome(passed: bool | None, expected: str) -> None:
    assert workflow.next_status(S.SUBMITTED, A.INSTANT_DECIDE, rule_passed=passed) == expected


@pytest.mark.parametrize("missing", [None, [], ["  "], [""]])
def test_return_for_correction_needs_the_list_of_missing_items(missing: list[str] | None) -> None:
    with pytest.raises(ValidationFailed) as refused:
        workflow.next_status(S.PRE_REVIEW, A.RETURN_FOR_CORRECTION, missing=missing)
    assert refused.value.field == "missing"


@pytest.mark.parametrize(("status", "action"), ALL_PAIRS)
@pytest.mark.parametrize("level", ItemLevel.values)
def test_roles_per_pair(status: str, action: str, level: str) -> None:
    # given the roles allowed to take the step
    roles = workflow.roles_for(status, action, item_level=level)
    # then they follow the division of labour (受办分离)
    if (status, action) not in EXPECTED:
        assert roles == frozenset()
    elif action == A.INSTANT_DECIDE:
        assert roles == {workflow.SYSTEM}
    elif action in {A.SUBMIT, A.RESUBMIT, A.WITHDRAW}:
        assert roles == {Role.RESIDENT, Role.COMMUNITY_STAFF, Role.STREET_STAFF}
    elif action in {A.APPROVE, A.REJECT} and status == S.PRE_REVIEW:
        expected = {Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN} if level == ItemLevel.COMMUNITY \
            else set()
        assert roles == expected
    elif action in {A.APPROVE, A.REJECT} or (action == A.RETURN_FOR_CORRECTION and status == S.FORWARDED):
        assert roles == {Role.DEPARTMENT_STAFF, Role.DISTRICT_ADMIN}
    else:
        assert roles == {Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN}
    # and nobody outside the table, grid workers and auditors never act
    assert Role.GRID_WORKER not in roles
    assert Role.AUDITOR not in roles


def test_a_resident_acts_only_on_their_own_application() -> None:
    assert workflow.allowed_actions(S.RETURNED, Role.RESIDENT, item_level=ItemLevel.STREET, is_owner=True) == [
        A.RESUBMIT, A.WITHDRAW,
    ]
    assert workflow.allowed_actions(S.RETURNED, Role.RESIDENT, item_level=ItemLevel.STREET, is_owner=False) == []


def test_department_staff_decide_forwarded_applications_only() -> None:
    assert workflow.allowed_actions(S.FORWARDED, Role.DEPARTMENT_STAFF, item_level=ItemLevel.DISTRICT) == [
        A.RETURN_FOR_CORRECTION, A.APPROVE, A.REJECT,
    ]
    assert workflow.allowed_actions(S.PRE_REVIEW, Role.DEPARTMENT_STAFF, item_level=ItemLevel.DISTRICT) == []


def test_community_decides_community_level_items_at_pre_review() -> None:
    community = workflow.allowed_actions(S.PRE_REVIEW, Role.COMMUNITY_STAFF, item_level=ItemLevel.COMMUNITY)
    street = workflow.allowed_actions(S.PRE_REVIEW, Role.COMMUNITY_STAFF, item_level=ItemLevel.STREET)
    assert A.APPROVE in community
    assert A.APPROVE not in street
    assert street == [A.RETURN_FOR_CORRECTION, A.FORWARD, A.WITHDRAW]


def test_only_correction_pauses_and_only_resubmission_resumes_the_clock() -> None:
    assert [a for a in A.values if workflow.pauses_clock(a)] == [A.RETURN_FOR_CORRECTION]
    assert [a for a in A.values if workflow.resumes_clock(a)] == [A.RESUBMIT]
