"""Supervision sweeps: levels by overdue share, escalation, idempotency, parallel safety."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from conftest import Tree, Users
from linli.cases.models import Case, CaseEvent
from linli.cases.services import case_supervision_sweep, case_transition
from linli.cases.tests.conftest import Cats
from linli.core.calendar import SHANGHAI
from linli.core.selectors import audit_chain_verify

# Monday 2026-11-23 09:00 Shanghai: a community case gets a 3-working-day handling deadline,
# Thursday 17:30; stage length = 3 days 8.5 h.
START = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def case(open_case: Any) -> Case:
    with time_machine.travel(START, tick=False):
        made: Case = open_case()
    return made


def test_case_on_time_is_left_alone(case: Case) -> None:
    assert case_supervision_sweep(now=START + timedelta(days=2)) == 0
    case.refresh_from_db()
    assert case.supervision_level == 0


def test_overdue_case_goes_yellow_then_red_then_escalated_to_the_street(case: Case, tree: Tree) -> None:
    # given
    assert case.stage_due_at == datetime(2026, 11, 26, 17, 30, tzinfo=SHANGHAI)
    length = case.stage_due_at - START
    # when / then: just overdue
    assert case_supervision_sweep(now=case.stage_due_at + timedelta(minutes=1)) == 1
    case.refresh_from_db()
    assert case.supervision_level == 1
    assert case.overdue_count == 1
    # half the stage length overdue
    assert case_supervision_sweep(now=case.stage_due_at + length * 0.5) == 1
    case.refresh_from_db()
    assert case.supervision_level == 2
    # the whole stage length overdue
    assert case_supervision_sweep(now=case.stage_due_at + length) == 1
    case.refresh_from_db()
    assert case.supervision_level == 3
    assert case.escalated_to_id == tree.street.pk
    assert case.overdue_count == 1
    assert list(CaseEvent.objects.filter(case=case, action="supervise").values_list("data", flat=True)) == [
        {"from_level": 0, "to_level": 1}, {"from_level": 1, "to_level": 2}, {"from_level": 2, "to_level": 3}]
    assert audit_chain_verify().ok


def test_sweeping_twice_changes_nothing_the_second_time(case: Case) -> None:
    assert case.stage_due_at is not None
    moment = case.stage_due_at + timedelta(days=30)
    assert case_supervision_sweep(now=moment) == 1
    version = Case.objects.get(pk=case.pk).version
    # when
    again = case_supervision_sweep(now=moment)
    # then
    assert again == 0
    assert Case.objects.get(pk=case.pk).version == version
    assert CaseEvent.objects.filter(case=case, action="supervise").count() == 1


def test_overdue_case_shows_first_in_the_inbox(open_case: Any, users: Users) -> None:
    from linli.cases.selectors import case_inbox_for_user

    with time_machine.travel(START, tick=False):
        late = open_case()
    with time_machine.travel(START + timedelta(days=2), tick=False):
        fresh = open_case()
    assert late.stage_due_at is not None
    case_supervision_sweep(now=late.stage_due_at + timedelta(hours=1))
    assert [c.pk for c in case_inbox_for_user(user=users.grid_worker_a1)] == [late.pk, fresh.pk]


def test_new_stage_starts_without_supervision(case: Case, users: Users) -> None:
    assert case.stage_due_at is not None
    case_supervision_sweep(now=case.stage_due_at + timedelta(hours=1))
    with time_machine.travel(case.stage_due_at + timedelta(hours=2), tick=False):
        moved = case_transition(case=case.pk, action="reassign", actor=users.community_a,
                                data={"department": "shequ"})
    assert moved.supervision_level == 0
    assert moved.overdue_count == 1


def test_command_sweeps_and_reports(case: Case) -> None:
    assert case.stage_due_at is not None
    out = StringIO()
    call_command("linli_cases_sweep", "--now", (case.stage_due_at + timedelta(hours=1)).isoformat(), stdout=out)
    assert "1 case" in out.getvalue()


needs_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need PostgreSQL")


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_sweeps_raise_each_case_once(open_case: Any, cats: Cats) -> None:
    # given ten overdue cases
    with time_machine.travel(START, tick=False):
        cases = [open_case() for _ in range(10)]
    moment = START + timedelta(days=30)
    barrier = threading.Barrier(3)
    counts: list[int] = []

    def sweep() -> None:
        try:
            barrier.wait()
            counts.append(case_supervision_sweep(now=moment, batch_size=3))
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then
    assert sum(counts) == 10
    assert CaseEvent.objects.filter(action="supervise").count() == 10
    assert set(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("supervision_level", flat=True)) == {3}
