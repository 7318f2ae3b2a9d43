"""The pure rules: transition table, roles, deadlines, supervision, rule matching."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linli.accounts.choices import Role
from linli.cases import workflow
from linli.cases.choices import FINAL_STATUSES, OPEN_STATUSES, CaseAction, CaseStage, CaseStatus
from linli.cases.workflow import (
    ACTION_ROLES,
    EXCLUDED_ROLES,
    HANDLER,
    REPORTER,
    SYSTEM,
    TRANSITIONS,
    RuleView,
    allowed_actions,
    match_rule,
    may_act,
    next_status,
    stage_deadline,
    supervision_level_for,
)
from linli.core.calendar import SHANGHAI

S, A = CaseStatus, CaseAction
ALL_ROLES = [*Role.values, REPORTER, SYSTEM]

# The whole table written out once more, as the standard describes the loop: any edit to
# TRANSITIONS must be made here too, on purpose.
EXPECTED: dict[tuple[str, str], str] = {
    (S.REPORTED, A.REGISTER): S.REGISTERED, (S.REPORTED, A.CANCEL): S.CANCELLED,
    (S.REPORTED, A.MERGE): S.MERGED, (S.REPORTED, A.HANDLE_ON_SPOT): S.HANDLED,
    (S.REGISTERED, A.HANDLE_ON_SPOT): S.HANDLED, (S.REGISTERED, A.DISPATCH): S.DISPATCHED,
    (S.REGISTERED, A.SUBMIT_DISPATCH): S.PENDING_APPROVAL, (S.REGISTERED, A.CANCEL): S.CANCELLED,
    (S.REGISTERED, A.MERGE): S.MERGED,
    (S.PENDING_APPROVAL, A.APPROVE_DISPATCH): S.DISPATCHED,
    (S.PENDING_APPROVAL, A.REJECT_DISPATCH): S.REGISTERED,
    (S.PENDING_APPROVAL, A.CANCEL): S.CANCELLED, (S.PENDING_APPROVAL, A.MERGE): S.MERGED,
    (S.RETURNED, A.DISPATCH): S.DISPATCHED, (S.RETURNED, A.SUBMIT_DISPATCH): S.PENDING_APPROVAL,
    (S.RETURNED, A.CANCEL): S.CANCELLED, (S.RETURNED, A.MERGE): S.MERGED,
    (S.DISPATCHED, A.ACCEPT): S.ACCEPTED, (S.DISPATCHED, A.REJECT_BACK): S.RETURNED,
    (S.DISPATCHED, A.REASSIGN): S.DISPATCHED, (S.DISPATCHED, A.MERGE): S.MERGED,
    (S.ACCEPTED, A.REPORT_BACK): S.HANDLED, (S.ACCEPTED, A.REJECT_BACK): S.RETURNED,
    (S.ACCEPTED, A.REASSIGN): S.DISPATCHED, (S.ACCEPTED, A.REQUEST_EXTENSION): S.ACCEPTED,
    (S.ACCEPTED, A.APPROVE_EXTENSION): S.ACCEPTED, (S.ACCEPTED, A.REJECT_EXTENSION): S.ACCEPTED,
    (S.ACCEPTED, A.SUSPEND): S.SUSPENDED, (S.SUSPENDED, A.RESUME): S.ACCEPTED,
    (S.HANDLED, A.VERIFY_PASS): S.VERIFIED, (S.HANDLED, A.VERIFY_FAIL): S.DISPATCHED,
    (S.VERIFIED, A.CLOSE): S.CLOSED, (S.CLOSED, A.EVALUATE): S.EVALUATED,
    (S.CLOSED, A.REOPEN): S.DISPATCHED, (S.EVALUATED, A.REOPEN): S.DISPATCHED,
}
DISPATCHERS: set[str] = {Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN}
HANDLERS: set[str] = {Role.GRID_WORKER, Role.DEPARTMENT_STAFF}
EXPECTED_ROLES: dict[str, set[str]] = {
    A.REGISTER: DISPATCHERS | {SYSTEM}, A.CANCEL: DISPATCHERS,
    A.SUBMIT_DISPATCH: {Role.COMMUNITY_STAFF, SYSTEM},
    A.APPROVE_DISPATCH: {Role.STREET_STAFF, Role.DISTRICT_ADMIN},
    A.REJECT_DISPATCH: {Role.STREET_STAFF, Role.DISTRICT_ADMIN},
    A.DISPATCH: DISPATCHERS | {SYSTEM}, A.REASSIGN: DISPATCHERS, A.REJECT_BACK: HANDLERS,
    A.ACCEPT: HANDLERS, A.HANDLE_ON_SPOT: {Role.GRID_WORKER, SYSTEM}, A.REPORT_BACK: HANDLERS,
    A.REQUEST_EXTENSION: HANDLERS, A.APPROVE_EXTENSION: DISPATCHERS,
    A.REJECT_EXTENSION: DISPATCHERS, A.SUSPEND: DISPATCHERS, A.RESUME: DISPATCHERS,
    A.VERIFY_PASS: {Role.GRID_WORKER, REPORTER, SYSTEM} | DISPATCHERS,
    A.VERIFY_FAIL: {Role.GRID_WORKER, REPORTER} | DISPATCHERS,
    A.CLOSE: DISPATCHERS | {SYSTEM}, A.REOPEN: DISPATCHERS, A.EVALUATE: {REPORTER} | DISPATCHERS,
    A.MERGE: DISPATCHERS,
}


@pytest.mark.parametrize("status", CaseStatus.values)
@pytest.mark.parametrize("action", [a.value for a in CaseAction])
def test_every_status_and_action_pair_leads_where_the_loop_says(status: str, action: str) -> None:
    # given / when
    result = next_status(status, action)
    # then
    assert result == EXPECTED.get((status, action))


@pytest.mark.parametrize("status", CaseStatus.values)
@pytest.mark.parametrize("role", ALL_ROLES)
def test_allowed_actions_are_exactly_the_applicable_actions_of_the_role(status: str, role: str) -> None:
    # given / when
    actions = allowed_actions(status, role)
    # then
    expected = [a for (s, a) in EXPECTED if s == status and role in EXPECTED_ROLES[a]]
    assert sorted(actions) == sorted(expected)


@pytest.mark.parametrize("action", [a.value for a in CaseAction])
def test_each_action_is_granted_to_the_expected_roles(action: str) -> None:
    assert set(ACTION_ROLES[action]) == set(EXPECTED_ROLES[action])


def test_final_statuses_only_allow_reopening_of_closed_and_evaluated_cases() -> None:
    for status in FINAL_STATUSES:
        # when
        actions = allowed_actions(status, ALL_ROLES)
        # then
        assert set(actions) <= {A.REOPEN, A.EVALUATE}
        if status in (S.CANCELLED, S.MERGED):
            assert actions == []


def test_every_status_is_reachable_from_reported() -> None:
    # given
    seen, todo = {S.REPORTED.value}, [S.REPORTED.value]
    # when
    while todo:
        current = todo.pop()
        for (s, _a), target in TRANSITIONS.items():
            if s == current and target not in seen:
                seen.add(target)
                todo.append(target)
    # then
    assert seen == set(CaseStatus.values)


def test_auditors_and_residents_without_a_report_can_do_nothing() -> None:
    for status in CaseStatus.values:
        assert allowed_actions(status, Role.AUDITOR) == []
        assert allowed_actions(status, Role.RESIDENT) == []


# Every combination of roles one actor can hold on a case: his role, and whether he is its
# reporter and its handler.
ACTOR_ROLE_SETS = [
    {role, *extra} for role in [*Role.values, SYSTEM]
    for extra in ((), (REPORTER,), (HANDLER,), (REPORTER, HANDLER))
]


def test_separation_of_duties_is_in_the_table_the_handler_never_verifies() -> None:
    expected = {A.VERIFY_PASS: {HANDLER}, A.VERIFY_FAIL: {HANDLER}}
    assert expected == EXCLUDED_ROLES


@pytest.mark.parametrize("status", CaseStatus.values)
@pytest.mark.parametrize("roles", ACTOR_ROLE_SETS, ids=lambda r: "+".join(sorted(r)))
def test_no_actor_may_verify_a_case_he_handled_whatever_else_he_is(status: str, roles: set[str]) -> None:
    # given an actor holding these roles on a case in this status / when
    actions = set(allowed_actions(status, roles))
    # then: as its handler he is offered no verification, and otherwise exactly what his
    # roles allow; being the handler takes nothing else away
    without_handler = set(allowed_actions(status, roles - {HANDLER}))
    if HANDLER in roles:
        assert actions == without_handler - {A.VERIFY_PASS, A.VERIFY_FAIL}
        assert not may_act(A.VERIFY_PASS, roles)
        assert not may_act(A.VERIFY_FAIL, roles)
    else:
        assert actions == without_handler
    for action in [a.value for a in CaseAction]:
        assert may_act(action, roles) == (
            bool(roles & EXPECTED_ROLES[action]) and not (HANDLER in roles and action in (A.VERIFY_PASS, A.VERIFY_FAIL)))


def test_reporter_may_verify_and_rate_only() -> None:
    actions = {a for s in CaseStatus.values for a in allowed_actions(s, REPORTER)}
    assert actions == {A.VERIFY_PASS, A.VERIFY_FAIL, A.EVALUATE}


def test_open_and_final_statuses_partition_all_statuses() -> None:
    assert set(OPEN_STATUSES) | set(FINAL_STATUSES) == set(CaseStatus.values)
    assert not set(OPEN_STATUSES) & set(FINAL_STATUSES)


def test_community_staff_need_approval_from_the_rule_level_street_staff_do_not() -> None:
    assert workflow.dispatch_needs_approval(level=2, approval_min_level=2, role=Role.COMMUNITY_STAFF)
    assert not workflow.dispatch_needs_approval(level=1, approval_min_level=2, role=Role.COMMUNITY_STAFF)
    assert not workflow.dispatch_needs_approval(level=5, approval_min_level=2, role=Role.STREET_STAFF)


# --- Deadlines -------------------------------------------------------------------------


@dataclass
class Deadlines:
    register_hours: int = 1
    dispatch_hours: int = 2
    handle_amount: int = 3
    handle_unit: str = "days"
    verify_hours: int = 4
    close_hours: int = 4


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def test_handle_deadline_in_working_days_skips_the_weekend() -> None:
    # given a Friday afternoon (2026-11-20)
    start = local(2026, 11, 20, 15, 0)
    # when
    due = stage_deadline(Deadlines(handle_amount=1), CaseStage.HANDLE, start)
    # then the next working day, Monday, end of office hours
    assert due == local(2026, 11, 23, 17, 30)


def test_handle_deadline_in_working_days_skips_the_national_day_holiday() -> None:
    # given 2025-09-30 (Tuesday); 10-01..10-08 are off, 09-28 and 10-11 are make-up days
    start = local(2025, 9, 30, 10, 0)
    # when
    due = stage_deadline(Deadlines(handle_amount=2), CaseStage.HANDLE, start)
    # then 10-09 and 10-10 are the two working days
    assert due == local(2025, 10, 10, 17, 30)


def test_dispatch_deadline_in_working_hours_carries_over_the_weekend() -> None:
    # given Friday 16:30 with 2 working hours to dispatch
    start = local(2026, 11, 20, 16, 30)
    # when
    due = stage_deadline(Deadlines(dispatch_hours=2), CaseStage.DISPATCH, start)
    # then one hour on Friday, one on Monday from 08:30
    assert due == local(2026, 11, 23, 9, 30)


def test_handle_deadline_in_hours_before_national_day_resumes_after_it() -> None:
    # given 2025-09-30 17:00, 4 working hours
    start = local(2025, 9, 30, 17, 0)
    # when
    due = stage_deadline(Deadlines(handle_amount=4, handle_unit="hours"), CaseStage.HANDLE, start)
    # then half an hour on 09-30, the rest on 10-09 (first working day after the holiday)
    assert due == local(2025, 10, 9, 12, 0)


def test_stage_without_clock_has_no_deadline() -> None:
    assert stage_deadline(Deadlines(), CaseStage.NONE, local(2026, 1, 5, 9, 0)) is None


@pytest.mark.parametrize(("stage", "expected"), [
    (CaseStage.REGISTER, local(2026, 11, 23, 10, 0)),
    (CaseStage.DISPATCH, local(2026, 11, 23, 11, 0)),
    (CaseStage.VERIFY, local(2026, 11, 23, 13, 0)),
    (CaseStage.CLOSE, local(2026, 11, 23, 13, 0)),
])
def test_each_stage_counts_its_own_hours(stage: str, expected: datetime) -> None:
    assert stage_deadline(Deadlines(), stage, local(2026, 11, 23, 9, 0)) == expected


# --- Supervision -----------------------------------------------------------------------


@pytest.mark.parametrize(("overdue_min", "level"), [
    (-5, 0), (0, 0), (1, 1), (29, 1), (30, 2), (59, 2), (60, 3), (600, 3),
])
def test_supervision_level_follows_the_share_of_the_stage_overdue(overdue_min: int, level: int) -> None:
    assert supervision_level_for(timedelta(minutes=overdue_min), timedelta(minutes=60)) == level


def test_zero_length_stage_escalates_as_soon_as_overdue() -> None:
    assert supervision_level_for(timedelta(seconds=1), timedelta(0)) == 3


@given(st.integers(min_value=-1000, max_value=10_000), st.integers(min_value=-1000, max_value=10_000),
       st.integers(min_value=1, max_value=10_000))
def test_supervision_never_decreases_as_time_passes(a: int, b: int, length: int) -> None:
    early, late = sorted((a, b))
    assert supervision_level_for(timedelta(minutes=early), timedelta(minutes=length)) <= \
        supervision_level_for(timedelta(minutes=late), timedelta(minutes=length))


# --- Rule matching ---------------------------------------------------------------------

MINOR, MAJOR, OTHER = 11, 1, 99
GRID_PATH = "/1/2/3/4/"


def rule(rule_id: int, category_id: int | None, area_path: str, priority: int = 100) -> RuleView:
    return RuleView(rule_id, category_id, area_path, "department", rule_id, priority)


def test_minor_category_rule_beats_major_and_any() -> None:
    rules = [rule(1, None, ""), rule(2, MAJOR, ""), rule(3, MINOR, "")]
    assert match_rule(rules, MINOR, GRID_PATH, category_parent_id=MAJOR) == rules[2]


def test_major_category_rule_applies_to_its_minor_categories() -> None:
    rules = [rule(1, None, ""), rule(2, MAJOR, "")]
    assert match_rule(rules, MINOR, GRID_PATH, category_parent_id=MAJOR) == rules[1]


def test_deeper_area_wins_within_the_same_category_rank() -> None:
    rules = [rule(1, MINOR, "/1/"), rule(2, MINOR, "/1/2/3/"), rule(3, MINOR, "/1/2/")]
    assert match_rule(rules, MINOR, GRID_PATH) == rules[1]


def test_rule_for_another_area_or_category_does_not_match() -> None:
    rules = [rule(1, MINOR, "/1/9/"), rule(2, OTHER, "")]
    assert match_rule(rules, MINOR, GRID_PATH, category_parent_id=MAJOR) is None


def test_case_without_grid_matches_only_rules_for_any_area() -> None:
    rules = [rule(1, MINOR, "/1/"), rule(2, None, "")]
    assert match_rule(rules, MINOR, "") == rules[1]


def test_priority_breaks_ties_then_the_older_rule() -> None:
    rules = [rule(5, MINOR, "", priority=100), rule(4, MINOR, "", priority=200), rule(3, MINOR, "", priority=200)]
    assert match_rule(rules, MINOR, GRID_PATH) == rules[2]


@given(st.permutations([rule(1, None, ""), rule(2, MAJOR, "/1/"), rule(3, MINOR, "/1/2/"),
                        rule(4, MINOR, "/1/2/", priority=50), rule(5, OTHER, "")]))
def test_matching_does_not_depend_on_rule_order(rules: list[RuleView]) -> None:
    assert match_rule(rules, MINOR, GRID_PATH, category_parent_id=MAJOR).rule_id == 3  # type: ignore[union-attr]
