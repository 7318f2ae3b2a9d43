"""Suspension stops the stage clock in working time: resuming extends the deadline by the
working time the case was suspended, never by weekends, holidays or nights."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import time_machine

from conftest import Users
from linli.cases.choices import CaseStatus
from linli.cases.models import Case
from linli.cases.services import case_transition
from linli.cases.workflow import resume_deadline, working_seconds_between
from linli.core.calendar import SHANGHAI


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


HOUR = 3600


def test_working_seconds_count_office_hours_of_working_days_only() -> None:
    # Friday 9 January 2026 16:30 to Monday 12 January 10:30: 1 h on Friday, 2 h on Monday
    assert working_seconds_between(local(2026, 1, 9, 16, 30), local(2026, 1, 12, 10, 30)) == 3 * HOUR
    # a whole weekend, a night, or a backwards range: nothing
    assert working_seconds_between(local(2026, 1, 9, 17, 30), local(2026, 1, 12, 8, 30)) == 0
    assert working_seconds_between(local(2026, 1, 12, 20, 0), local(2026, 1, 13, 7, 0)) == 0
    assert working_seconds_between(local(2026, 1, 13, 10, 0), local(2026, 1, 12, 10, 0)) == 0


def test_national_day_holiday_and_make_up_saturday() -> None:
    # 30 September 2025 17:00 → 9 October 09:30: half an hour, the 1–8 October holiday, one hour
    assert working_seconds_between(local(2025, 9, 30, 17, 0), local(2025, 10, 9, 9, 30)) == HOUR + HOUR // 2
    # Saturday 11 October 2025 is a make-up working day (调休): it counts
    assert working_seconds_between(local(2025, 10, 11, 8, 30), local(2025, 10, 11, 17, 30)) == 9 * HOUR


def test_resume_deadline_spends_the_time_left_in_office_hours() -> None:
    # given 3 working hours left, resumed on a Saturday
    # then the clock starts Monday 08:30
    assert resume_deadline(local(2026, 1, 10, 10, 0), 3 * HOUR) == local(2026, 1, 12, 11, 30)
    # resumed during the National Day holiday: from the first working day after it
    assert resume_deadline(local(2025, 10, 3, 10, 0), HOUR) == local(2025, 10, 9, 9, 30)
    # nothing left (already due when suspended): due at once
    assert resume_deadline(local(2026, 1, 12, 10, 0), 0) == local(2026, 1, 12, 10, 0)


def act(case: Case, action: str, actor: Any, **kwargs: Any) -> Case:
    return case_transition(case=case.pk, action=action, actor=actor, **kwargs)


def _accepted_case(open_case: Any, users: Users) -> Case:
    return act(open_case(), "accept", users.grid_worker_a1)


def test_suspended_over_a_weekend_outside_office_hours_keeps_the_deadline(open_case: Any, users: Users) -> None:
    # given a case accepted on Friday 9 January 2026
    with time_machine.travel(local(2026, 1, 9, 10, 0), tick=False):
        case = _accepted_case(open_case, users)
    due = case.stage_due_at
    assert due is not None
    # when suspended on Friday after office hours and resumed on Monday before them
    with time_machine.travel(local(2026, 1, 9, 18, 0), tick=False):
        case = act(case, "suspend", users.community_a, note="等待业主回复")
    assert case.status == CaseStatus.SUSPENDED
    with time_machine.travel(local(2026, 1, 12, 8, 0), tick=False):
        case = act(case, "resume", users.community_a)
    # then no working time was suspended: the deadline is where it was (wall time: +62 h)
    assert case.status == CaseStatus.ACCEPTED
    assert case.stage_due_at == due
    assert case.due_at == due


def test_suspended_across_a_holiday_extends_by_the_working_time_suspended(open_case: Any, users: Users) -> None:
    # given a case accepted on 29 September 2025
    with time_machine.travel(local(2025, 9, 29, 9, 0), tick=False):
        case = _accepted_case(open_case, users)
    due = case.stage_due_at
    assert due is not None
    # when suspended on 30 September at 16:30 and resumed on 9 October at 10:00
    suspended, resumed = local(2025, 9, 30, 16, 30), local(2025, 10, 9, 10, 0)
    with time_machine.travel(suspended, tick=False):
        case = act(case, "suspend", users.community_a, note="等待鉴定结果")
    left = working_seconds_between(suspended, due)
    assert case.suspended_remaining_s == left
    with time_machine.travel(resumed, tick=False):
        case = act(case, "resume", users.community_a)
    # then the time left runs in office hours from the resume
    assert case.stage_due_at is not None
    assert working_seconds_between(resumed, case.stage_due_at) == left
    # and the deadline moved by the 2.5 working hours suspended (1 h on 30 September,
    # 1.5 h on 9 October), not by the nine calendar days
    suspended_work = working_seconds_between(suspended, resumed)
    assert suspended_work == 2 * HOUR + HOUR // 2
    if due > resumed:
        assert working_seconds_between(due, case.stage_due_at) == suspended_work
    assert case.stage_due_at - due < timedelta(days=9)
