"""The nightly sweep: what it finds, that a second run adds nothing, that a crash resumes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from conftest import Tree, Users
from linli.care.choices import (
    BenefitSource,
    ItemStatus,
    RecommendationKind,
    ReviewReason,
    SweepStatus,
)
from linli.care.models import (
    Benefit,
    CareProfile,
    DueVisit,
    ElderLevel,
    ElderLevelChange,
    Policy,
    Recommendation,
    ReviewItem,
    SweepRun,
    WorkOrder,
)
from linli.care.services import sweep as sweep_module
from linli.care.services.sweep import sweep_run
from linli.care.tests.conftest import ON, make_person
from linli.care.workflow import shift_years
from linli.registry.models import PersonTag

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int, int, int, int]:
    return (Recommendation.objects.count(), ReviewItem.objects.count(), WorkOrder.objects.count(),
            ElderLevel.objects.count(), ElderLevelChange.objects.count(), DueVisit.objects.count())


def test_sweep_finds_eligible_expiring_dead_and_grades_elders(tree: Tree, users: Users, seeded: None) -> None:
    # given an 85-year-old local who gets nothing, a dead man still paid, a benefit ending soon
    elder = make_person(tree.grid_a1.pk, "张桂兰", birth=shift_years(ON, 85), hukou="local")
    PersonTag.objects.create(person=elder, kind="living_alone_elder", source="t", valid_from=date(2020, 1, 1))
    CareProfile.objects.create(person=elder, disability_grade=1)
    dead = make_person(tree.grid_a1.pk, "李建国", birth=shift_years(ON, 82), is_deceased=True)
    gaoling = Policy.objects.get(code="gaoling_80")
    Benefit.objects.create(person=dead, policy=gaoling, starts_on=date(2024, 1, 1), source=BenefitSource.MINZHENG_IMPORT)
    young = make_person(tree.grid_a1.pk, "刘洋", birth=shift_years(ON, 40), hukou="local")
    ending = Benefit.objects.create(person=young, policy=Policy.objects.get(code="dibao"), starts_on=date(2025, 7, 1),
                                    ends_on=ON + timedelta(days=20), source=BenefitSource.MINZHENG_IMPORT)
    # when the sweep runs
    run = sweep_run(on=ON)
    # then the elder is recommended 高龄津贴 with the reason in words
    rec = Recommendation.objects.get(person=elder, policy=gaoling, kind=RecommendationKind.ELIGIBLE)
    assert "高龄津贴" in rec.reason
    assert "年龄≥80" in rec.reason
    # the dead man's benefit goes to review
    assert ReviewItem.objects.filter(person=dead, reason_kind=ReviewReason.DECEASED).exists()
    # the young man, now without a registered low income, is no longer eligible for 低保
    assert ReviewItem.objects.filter(benefit=ending, reason_kind=ReviewReason.NOT_ELIGIBLE).exists()
    # the expiring benefit is a work order for the grid's worker, due a week before the end
    order = WorkOrder.objects.get(benefit=ending)
    assert order.assignee_id == users.grid_worker_a1.pk
    assert order.due_on == ON + timedelta(days=13)
    assert "到期" in order.reason
    # and its worker was told through the outbox, once, with the count and the deadline
    from linli.notify.models import Notification

    told = Notification.objects.get(recipient=users.grid_worker_a1, event_type="care.work_orders")
    assert (ON + timedelta(days=13)).isoformat() in told.body
    # the elder is red (alone and grade-1 disabled), and a visit is due today
    level = ElderLevel.objects.get(person=elder)
    assert level.colour == "red"
    assert level.reasons == ["独居且残疾或失能"]
    assert DueVisit.objects.get(person=elder, status=ItemStatus.OPEN).due_on == ON
    assert run.status == SweepStatus.DONE


def test_a_second_sweep_creates_nothing_new(population: object) -> None:
    sweep_run(on=ON)
    before = _counts()
    assert before[0] > 0
    assert before[3] > 0
    SweepRun.objects.all().delete()  # even forced to run the whole day again
    sweep_run(on=ON)
    assert _counts() == before


def test_a_crashed_sweep_resumes_after_the_last_finished_step(population: object,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # given a sweep that crashes in its levels step
    def boom(on: date, actor: object) -> int:
        raise RuntimeError("power cut")

    steps = dict(sweep_module.STEPS)
    monkeypatch.setattr(sweep_module, "STEPS", tuple((n, boom if n == "levels" else s) for n, s in steps.items()))
    with pytest.raises(RuntimeError):
        sweep_run(on=ON)
    run = SweepRun.objects.get(on=ON)
    assert run.steps_done == ["expire", "policies", "birthdays", "expiry"]
    recommendations = Recommendation.objects.count()
    assert ElderLevel.objects.count() == 0  # the crashed step left nothing half-written
    # when it runs again
    monkeypatch.setattr(sweep_module, "STEPS", tuple(steps.items()))
    run = sweep_run(on=ON)
    # then it finishes without repeating the done steps
    assert run.status == SweepStatus.DONE
    assert Recommendation.objects.count() == recommendations
    assert ElderLevel.objects.count() > 0


def test_a_recommendation_closes_once_the_benefit_is_granted(tree: Tree, seeded: None) -> None:
    elder = make_person(tree.grid_a1.pk, birth=shift_years(ON, 91), hukou="local")
    sweep_run(on=ON)
    rec = Recommendation.objects.get(person=elder, policy__code="gaoling_90", kind=RecommendationKind.ELIGIBLE)
    Benefit.objects.create(person=elder, policy=rec.policy, starts_on=ON, source=BenefitSource.WINDOW)
    sweep_run(on=ON + timedelta(days=1))
    rec.refresh_from_db()
    assert rec.status == ItemStatus.DONE


def test_birthday_prompt_for_someone_turning_eighty_next_week(tree: Tree, seeded: None) -> None:
    soon = make_person(tree.grid_a1.pk, birth=shift_years(ON + timedelta(days=7), 80), hukou="local")
    sweep_run(on=ON)
    rec = Recommendation.objects.get(person=soon, kind=RecommendationKind.BIRTHDAY, policy__code="gaoling_80")
    assert "年满80周岁" in rec.reason


def test_overdue_visits_are_flagged(tree: Tree, seeded: None) -> None:
    elder = make_person(tree.grid_a1.pk, birth=shift_years(ON, 75))
    sweep_run(on=ON)
    due = DueVisit.objects.get(person=elder)
    sweep_run(on=ON + timedelta(days=3))
    due.refresh_from_db()
    assert due.overdue


def test_linli_care_sweep_command_runs_the_day_and_names_the_counts(tree: Tree, seeded: None) -> None:
    from io import StringIO

    from django.core.management import call_command

    from linli.cli import parse

    make_person(tree.grid_a1.pk, birth=shift_years(ON, 81), hukou="local")
    out = StringIO()
    call_command("linli_care", "sweep", "--on", ON.isoformat(), stdout=out)
    assert "care sweep 2026-06-15: done" in out.getvalue()
    assert "policies 1" in out.getvalue()
    assert parse(["care", "sweep", "--on", "2026-06-15"]).rest == ["--on", "2026-06-15"]
