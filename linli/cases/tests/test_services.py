"""Transitions through the one status writer: side effects, refusals, scope, concurrency."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from conftest import Tree, Users, make_user
from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import Department, User
from linli.cases.choices import CaseStatus, SupervisionLevel
from linli.cases.errors import CaseForbidden, CaseRefused
from linli.cases.models import Case, CaseEvent, DispatchRule
from linli.cases.selectors import (
    case_actions_for_user,
    case_duplicates,
    case_get_for_user,
    case_inbox_for_user,
    case_list_for_user,
    case_timeline,
    category_tree,
)
from linli.cases.services import case_merge, case_open, case_transition
from linli.cases.tests.conftest import IN_A1, IN_B1, PNG, Cats
from linli.cases.workflow import working_seconds_between
from linli.core.errors import NotFound, ValidationFailed
from linli.core.models import AuditEntry

Opener = Any


def city_case(open_case: Opener, cats: Cats, **kwargs: Any) -> Case:
    """A rubbish case in grid a1, dispatched to 环卫所."""
    return open_case(category=cats.rubbish, description="暴露垃圾", **kwargs)  # type: ignore[no-any-return]


def act(case: Case, action: str, actor: User, **kwargs: Any) -> Case:
    return case_transition(case=case.pk, action=action, actor=actor, **kwargs)


def test_whole_loop_from_dispatch_to_rating_records_every_stage(
    open_case: Opener, cats: Cats, users: Users, dept_user: User,
) -> None:
    # given a grid worker's report dispatched to the department
    case = city_case(open_case, cats, actor=users.grid_worker_a1)
    # when the loop runs
    case = act(case, "accept", dept_user)
    case = act(case, "report_back", dept_user, note="已清运", photos=[PNG])
    case = act(case, "verify_pass", users.grid_worker_a1)
    case = act(case, "close", users.community_a)
    case = act(case, "evaluate", users.grid_worker_a1, data={"satisfaction": 5})
    # then
    case.refresh_from_db()
    assert case.status == CaseStatus.EVALUATED
    assert case.satisfaction == 5
    assert case.accepted_at
    assert case.handled_at
    assert case.verified_at
    assert case.closed_at
    assert case.evaluated_at
    assert case.stage == ""
    assert case.stage_due_at is None
    actions = [e.action for e in case_timeline(case=case)]
    assert actions == ["open", "register", "dispatch", "accept", "report_back", "verify_pass", "close", "evaluate"]
    assert case.photos.get().event.action == "report_back"  # type: ignore[union-attr]
    audited = set(AuditEntry.objects.filter(target_type="cases.Case", target_id=str(case.pk))
                  .values_list("action", flat=True))
    assert audited == {"case.open", "case.accept", "case.report_back", "case.verify_pass", "case.close",
                       "case.evaluate"}
    assert case.version == 6


def test_stale_version_is_refused_as_a_conflict_with_the_current_state(
    open_case: Opener, cats: Cats, dept_user: User,
) -> None:
    # given someone accepted the case after we loaded it
    case = city_case(open_case, cats)
    loaded_version = case.version
    act(case, "accept", dept_user, expected_version=loaded_version)
    # when
    with pytest.raises(CaseRefused) as refused:
        act(case, "accept", dept_user, expected_version=loaded_version)
    # then
    body = refused.value.as_dict()
    assert body["code"] == "conflict"
    assert body["status"] == CaseStatus.ACCEPTED
    assert body["version"] == loaded_version + 1
    assert set(body["allowed_actions"]) == {"report_back", "reject_back", "request_extension"}


def test_action_not_in_the_table_is_refused_naming_the_allowed_ones(open_case: Opener, cats: Cats, users: Users) -> None:
    case = city_case(open_case, cats)
    with pytest.raises(CaseRefused) as refused:
        act(case, "close", users.community_a)
    assert refused.value.code == "action_not_allowed"
    assert refused.value.status == 409
    assert refused.value.extra["status"] == CaseStatus.DISPATCHED
    assert "reassign" in refused.value.extra["allowed_actions"]


def test_role_that_may_not_act_is_forbidden(open_case: Opener, cats: Cats, users: Users) -> None:
    case = city_case(open_case, cats)
    with pytest.raises(CaseForbidden) as refused:
        act(case, "accept", users.community_a)
    assert refused.value.code == "role_not_allowed"
    assert refused.value.status == 403


def test_grid_worker_cannot_accept_a_case_dispatched_to_a_department(open_case: Opener, cats: Cats, users: Users) -> None:
    case = city_case(open_case, cats)
    with pytest.raises(CaseForbidden) as refused:
        act(case, "accept", users.grid_worker_a1)
    assert refused.value.code == "not_assignee"


def test_another_grids_worker_cannot_see_or_act_on_the_case(open_case: Opener, cats: Cats, users: Users) -> None:
    # given
    case = open_case()
    # when / then
    with pytest.raises(NotFound):
        act(case, "accept", users.grid_worker_b1)
    with pytest.raises(NotFound):
        case_get_for_user(user=users.grid_worker_b1, case_id=case.pk)
    assert list(case_list_for_user(user=users.grid_worker_b1)) == []
    assert case_inbox_for_user(user=users.grid_worker_b1) == []
    assert list(case_list_for_user(user=users.community_b)) == []
    assert list(case_list_for_user(user=users.auditor)) == []


def test_refused_transition_changes_nothing(open_case: Opener, users: Users) -> None:
    case = open_case()
    events_before = CaseEvent.objects.count()
    with pytest.raises(ValidationFailed):
        act(case, "reject_back", users.grid_worker_a1, note="")
    case.refresh_from_db()
    assert case.status == CaseStatus.DISPATCHED
    assert case.version == 1
    assert CaseEvent.objects.count() == events_before


def test_reject_back_returns_to_the_dispatcher_who_dispatches_again(open_case: Opener, users: Users) -> None:
    # given a community case assigned to the grid worker
    case = open_case()
    # when
    case = act(case, "reject_back", users.grid_worker_a1, note="不属于本网格职责")
    # then
    assert case.status == CaseStatus.RETURNED
    assert case.assignee_id is None
    assert case.stage == "dispatch"
    assert case in case_inbox_for_user(user=users.community_a)
    case = act(case, "dispatch", users.community_a, data={"department": "zongzhi"})
    assert case.status == CaseStatus.DISPATCHED
    assert case.department is not None
    assert case.department.code == "zongzhi"


def test_dispatch_to_a_grid_worker_outside_the_case_grid_is_refused(open_case: Opener, users: Users) -> None:
    case = act(open_case(), "reject_back", users.grid_worker_a1, note="退回")
    with pytest.raises(ValidationFailed) as refused:
        act(case, "dispatch", users.community_a, data={"assignee": users.grid_worker_b1.pk})
    assert refused.value.field == "assignee"


def test_high_level_case_dispatched_by_community_staff_needs_street_approval(open_case: Opener, users: Users) -> None:
    # given a rule requiring approval from level 3 and a returned case of level 3
    case = act(open_case(level=3), "reject_back", users.grid_worker_a1, note="退回")
    DispatchRule.objects.filter(category__code="11").update(approval_min_level=3)
    # when
    with pytest.raises(CaseRefused) as refused:
        act(case, "dispatch", users.community_a)
    case = act(case, "submit_dispatch", users.community_a)
    # then
    assert refused.value.code == "approval_required"
    assert case.status == CaseStatus.PENDING_APPROVAL
    assert case in case_inbox_for_user(user=users.street)
    case = act(case, "approve_dispatch", users.street)
    assert case.status == CaseStatus.DISPATCHED
    assert case.assignee_id == users.grid_worker_a1.pk


def test_extension_moves_the_deadline_once_approved(open_case: Opener, users: Users) -> None:
    # given
    case = act(open_case(), "accept", users.grid_worker_a1)
    old_due = case.due_at
    assert old_due is not None
    # when
    case = act(case, "request_extension", users.grid_worker_a1, note="需协调物业", data={"days": 2})
    assert case in case_inbox_for_user(user=users.community_a)
    assert case_actions_for_user(user=users.community_a, case=case)[:2] == ["reassign", "approve_extension"]
    case = act(case, "approve_extension", users.community_a)
    # then
    assert case.due_at is not None
    assert case.due_at > old_due
    assert case.stage_due_at == case.due_at
    assert case.extension_count == 1
    assert case.extension_requested_until is None
    with pytest.raises(CaseRefused) as refused:
        act(case, "approve_extension", users.community_a)
    assert refused.value.code == "no_extension_pending"


def test_suspension_stops_the_clock_and_resume_restarts_it_with_the_time_left(open_case: Opener, users: Users) -> None:
    case = act(open_case(), "accept", users.grid_worker_a1)
    case = act(case, "suspend", users.community_a, note="等待法院判决")
    assert case.status == CaseStatus.SUSPENDED
    assert case.stage_due_at is None
    left = case.suspended_remaining_s
    assert left is not None
    assert left > 0
    case = act(case, "resume", users.community_a)
    assert case.status == CaseStatus.ACCEPTED
    assert case.stage_due_at is not None
    assert case.stage_started_at is not None
    # the time left is office time (see test_suspension.py), spent from the resume on
    assert abs(working_seconds_between(case.stage_started_at, case.stage_due_at) - left) <= 1


def test_failed_verification_sends_the_case_back_for_rework(
    open_case: Opener, cats: Cats, users: Users, dept_user: User,
) -> None:
    case = act(act(city_case(open_case, cats), "accept", dept_user), "report_back", dept_user)
    case = act(case, "verify_fail", users.grid_worker_a1, note="垃圾未清理干净")
    assert case.status == CaseStatus.DISPATCHED
    assert case.rework_count == 1
    assert case.department.code == "huanwei"  # type: ignore[union-attr]
    assert case.accepted_at is None


def test_reopening_a_closed_case_counts_as_rework_and_clears_the_closing(
    open_case: Opener, cats: Cats, users: Users, dept_user: User,
) -> None:
    case = city_case(open_case, cats)
    for action, actor in (("accept", dept_user), ("report_back", dept_user),
                          ("verify_pass", users.grid_worker_a1), ("close", users.community_a)):
        case = act(case, action, actor)
    case = act(case, "reopen", users.street, note="居民反映仍未解决")
    assert case.status == CaseStatus.DISPATCHED
    assert case.rework_count == 1
    assert case.closed_at is None
    assert case.due_at is not None


@pytest.mark.parametrize("value", [0, 6, "5", None, True])
def test_satisfaction_must_be_one_to_five(open_case: Opener, users: Users, value: Any) -> None:
    case = open_case(handled_on_spot=True, actor=users.grid_worker_a1)
    with pytest.raises(ValidationFailed) as refused:
        act(case, "evaluate", users.community_a, data={"satisfaction": value})
    assert refused.value.field == "satisfaction"


def test_duplicates_are_suggested_nearby_and_merged(open_case: Opener, cats: Cats, users: Users) -> None:
    # given two reports 30 m apart and one 300 m away
    first = city_case(open_case, cats)
    near = city_case(open_case, cats, point=(IN_A1[0] + 0.0003, IN_A1[1]))
    city_case(open_case, cats, point=(IN_A1[0], IN_A1[1] + 0.0027))
    # when
    found = case_duplicates(case=near, radius_m=100)
    # then
    assert [c.pk for c, _d in found] == [first.pk]
    assert 20 < found[0][1] < 40
    merged = case_merge(case=near, into=first, actor=users.community_a, note="重复上报")
    assert merged.status == CaseStatus.MERGED
    assert merged.merged_into_id == first.pk
    with pytest.raises(ValidationFailed):
        case_merge(case=first, into=merged, actor=users.community_a)


def test_inboxes_hold_what_each_role_must_act_on(
    open_case: Opener, cats: Cats, users: Users, dept_user: User, resident: User,
) -> None:
    # given
    mine = open_case()
    dept_case = city_case(open_case, cats)
    reported, _ = case_open(actor=resident, source="resident", category=cats.rubbish, description="x",
                            lon=IN_B1[0], lat=IN_B1[1])
    # then
    assert case_inbox_for_user(user=users.grid_worker_a1) == [mine]
    assert case_inbox_for_user(user=dept_user) == [dept_case]
    assert reported in case_inbox_for_user(user=users.community_b)
    assert reported not in case_inbox_for_user(user=users.community_a)
    assert case_get_for_user(user=resident, case_id=reported.pk) == reported
    with pytest.raises(NotFound):
        case_get_for_user(user=resident, case_id=mine.pk)


def test_department_staff_see_their_department_s_cases_and_no_other_s(
    open_case: Opener, cats: Cats, users: Users, dept_user: User, tree: Tree,
) -> None:
    # given a case dispatched to 环卫所 and a member of another department in the same street
    case = city_case(open_case, cats)
    other = make_user("aj_1", Role.DEPARTMENT_STAFF, (tree.street, AssignmentKind.MEMBER),
                      department=Department.objects.get(code="anjian"))
    # then
    assert list(case_list_for_user(user=dept_user)) == [case]
    assert case_inbox_for_user(user=dept_user) == [case]
    assert list(case_list_for_user(user=other)) == []
    assert case_inbox_for_user(user=other) == []


def test_an_inbox_merges_the_role_s_work_and_the_user_s_own_reports_most_urgent_first(
    open_case: Opener, cats: Cats, users: Users, resident: User,
) -> None:
    # given: work for the street office (residents' reports to register), one red-flagged
    work = [open_case(cats.neighbours, source="resident", actor=resident) for _ in range(2)]
    Case.objects.filter(pk=work[1].pk).update(supervision_level=SupervisionLevel.RED)
    # and a 12345 call the street's operator took, since closed and waiting for the caller's
    # rating: no longer work, but in the operator's inbox as her own report
    call, _ = case_open(actor=users.street, source="hotline", category=cats.neighbours, description="来电",
                        lon=IN_B1[0], lat=IN_B1[1])
    assert work[0].stage_due_at is not None
    Case.objects.filter(pk=call.pk).update(status=CaseStatus.CLOSED,
                                           stage_due_at=work[0].stage_due_at - timedelta(hours=1))
    # when
    inbox = case_inbox_for_user(user=users.street)
    # then: supervision first, then the earliest deadline, whichever query found the case
    assert [c.pk for c in inbox] == [work[1].pk, call.pk, work[0].pk]
    assert [c.pk for c in case_inbox_for_user(user=users.street, limit=2)] == [work[1].pk, call.pk]
    Case.objects.filter(pk=call.pk).update(stage_due_at=None)
    assert [c.pk for c in case_inbox_for_user(user=users.street)] == [work[1].pk, work[0].pk, call.pk]
    assert call.pk not in [c.pk for c in case_inbox_for_user(user=users.community_b)]


@pytest.mark.django_db
def test_category_tree_lists_the_seeded_catalogue() -> None:
    tree = category_tree()
    names = [node.category.name for node in tree]
    assert names[:3] == ["市容环境", "宣传广告", "施工管理"]
    assert "特殊人群关爱" in names
    assert all(3 <= len(node.children) <= 8 for node in tree)


needs_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need PostgreSQL")


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_acting_at_once_cannot_both_win(open_case: Opener, users: Users, cats: Cats) -> None:
    # given a dispatched case both the grid worker and the dispatcher look at
    case = act(open_case(), "accept", users.grid_worker_a1)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run(action: str, actor: User, note: str) -> None:
        try:
            barrier.wait()
            case_transition(case=case.pk, action=action, actor=actor, note=note, expected_version=case.version)
            outcomes.append("won")
        except CaseRefused as refused:
            outcomes.append(refused.code)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=run, args=("report_back", users.grid_worker_a1, "已调解")),
               threading.Thread(target=run, args=("suspend", users.community_a, "挂起"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then
    assert sorted(outcomes) == ["conflict", "won"]
    case.refresh_from_db()
    assert case.version == 3
    assert case.events.filter(action__in=["report_back", "suspend"]).count() == 1


# --- Only the workflow service writes a case's status ----------------------------------

ROOT = Path(__file__).resolve().parents[3]
# Assignment on a case-like name (not ``self.status`` of an HTTP error), queryset updates, constructors and bulk updates naming ``status``.
_STATUS_WRITE = re.compile(
    r"""(\b\w*(case|row|obj|item|instance)\w*\.status\s*=(?!=))|(\b(update|create|update_or_create|get_or_create|Case)\([^)]*\bstatus\s*=)"""
    r"""|(bulk_update\([^)]*status)|(setattr\([^)]*["']status["'])""")


def status_writes(text: str) -> list[int]:
    """Line numbers of writes to ``status`` (constructors may span lines)."""
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    return [code.count("\n", 0, m.start()) + 1 for m in _STATUS_WRITE.finditer(code)]


def test_the_status_write_detector_finds_each_kind_of_write() -> None:
    samples = ['case.status = "closed"', 'Case.objects.filter(pk=1).update(status="closed")',
               'Case(\n    number="x",\n    status="closed",\n)', 'setattr(case, "status", "x")',
               'Case.objects.bulk_update(rows, ["status"])']
    assert all(status_writes(sample) for sample in samples)
    assert status_writes('if case.status == "closed":\n    x = {"status": case.status}') == []


def test_no_module_but_the_service_writes_case_status() -> None:
    # given every module of the cases app and the demo app
    allowed = {ROOT / "linli" / "cases" / "services" / "__init__.py"}
    offenders = []
    for folder in (ROOT / "linli" / "cases", ROOT / "linli" / "demo"):
        for path in folder.rglob("*.py"):
            if path in allowed or "tests" in path.parts or "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            if "case" not in text.lower():
                continue
            offenders += [f"{path.relative_to(ROOT)}:{n}" for n in status_writes(text)]
    # then
    assert offenders == []
