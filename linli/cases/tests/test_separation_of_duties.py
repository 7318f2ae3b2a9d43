"""Separation of duties: the handler of a case never verifies it, whoever else he is.

A grid worker who handled a case is not offered 核查通过/核查不通过 on it and is refused if he
tries; everyone else who may verify still can (the grid's B角, community staff, the reporter)."""

from __future__ import annotations

import pytest

from conftest import Tree, Users, make_user
from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import Department, User
from linli.cases.choices import CaseAction, CaseStatus
from linli.cases.errors import CaseForbidden
from linli.cases.models import Case
from linli.cases.selectors import case_actions_for_user, case_inbox_for_user
from linli.cases.services import case_open, case_transition
from linli.cases.tests.conftest import IN_A1, Cats
from linli.core.errors import NotFound

VERIFY = (CaseAction.VERIFY_PASS, CaseAction.VERIFY_FAIL)


def handled_by_grid_worker(users: Users, cats: Cats, reporter: User) -> Case:
    """A dispute in grid a1, dispatched by rule to its A角 (gw_a1), who handles it."""
    case, _ = case_open(actor=reporter, source="resident" if reporter.role == Role.RESIDENT else "staff",
                        category=cats.neighbours, description="楼上漏水,邻居争吵", lon=IN_A1[0], lat=IN_A1[1])
    if case.status == CaseStatus.REPORTED:
        case = case_transition(case=case.pk, action="register", actor=users.community_a)
        case = case_transition(case=case.pk, action="dispatch", actor=users.community_a)
    assert case.assignee_id == users.grid_worker_a1.pk
    case = case_transition(case=case.pk, action="accept", actor=users.grid_worker_a1)
    return case_transition(case=case.pk, action="report_back", actor=users.grid_worker_a1, note="已调解")


@pytest.fixture
def backup_a1(tree: Tree) -> User:
    return make_user("gw_b_a1", Role.GRID_WORKER, (tree.grid_a1, AssignmentKind.BACKUP))


def test_the_handler_is_neither_offered_nor_allowed_to_verify_his_own_work(users: Users, cats: Cats) -> None:
    # given gw_a1 handled the case
    case = handled_by_grid_worker(users, cats, users.community_a)
    version = case.version
    # then he is not offered verification
    assert not set(case_actions_for_user(user=users.grid_worker_a1, case=case)) & set(VERIFY)
    assert case not in case_inbox_for_user(user=users.grid_worker_a1)
    # and is refused when he tries, with nothing changed
    for action in VERIFY:
        with pytest.raises(CaseForbidden) as refused:
            case_transition(case=case.pk, action=action, actor=users.grid_worker_a1, note="自查")
        assert refused.value.code == "separation_of_duties"
    case.refresh_from_db()
    assert case.status == CaseStatus.HANDLED
    assert case.version == version


def test_the_grids_backup_worker_verifies_what_the_primary_handled(
    users: Users, cats: Cats, backup_a1: User,
) -> None:
    # given
    case = handled_by_grid_worker(users, cats, users.community_a)
    # when
    assert set(VERIFY) <= set(case_actions_for_user(user=backup_a1, case=case))
    case = case_transition(case=case.pk, action="verify_pass", actor=backup_a1)
    # then
    assert case.status == CaseStatus.VERIFIED


@pytest.mark.parametrize("who", ["grid_worker_a1", "backup", "grid_worker_b1", "community_a", "community_b",
                                 "street", "district_admin", "auditor", "department", "reporter"])
def test_verification_is_open_to_exactly_those_who_may_verify_and_did_not_handle(
    who: str, users: Users, cats: Cats, backup_a1: User, tree: Tree,
) -> None:
    # given a resident's report, handled by gw_a1
    reporter = make_user("res_a1", Role.RESIDENT)
    department = make_user("dept_hw", Role.DEPARTMENT_STAFF, (tree.street, AssignmentKind.MEMBER),
                           department=Department.objects.get(code="huanwei"))
    case = handled_by_grid_worker(users, cats, reporter)
    actor = {"backup": backup_a1, "department": department, "reporter": reporter}.get(who) or getattr(users, who)
    # when / then: whoever sees the case and may verify (not its handler) is offered and allowed it
    may = who in {"backup", "community_a", "street", "district_admin", "reporter"}
    try:
        offered = set(case_actions_for_user(user=actor, case=case)) & set(VERIFY)
    except NotFound:
        offered = set()
    assert offered == (set(VERIFY) if may else set())
    if may:
        assert case_transition(case=case.pk, action="verify_pass", actor=actor).status == CaseStatus.VERIFIED
    else:
        with pytest.raises((CaseForbidden, NotFound)):
            case_transition(case=case.pk, action="verify_pass", actor=actor)
