"""The incremental nightly sweep (ADR 0013): after edits through every path (services, bulk
queryset updates, deletes) and a month of dates crossing thresholds, the run that sweeps only
the changed persons leaves exactly what a full sweep of the same data leaves."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from linli.care.choices import BenefitSource, BenefitState, CareEventKind, ItemStatus
from linli.care.models import (
    Benefit,
    CareEvent,
    CareProfile,
    DueVisit,
    ElderLevel,
    ElderLevelChange,
    Policy,
    Recommendation,
    ReviewItem,
    SweepChange,
    SweepRun,
    WorkOrder,
)
from linli.care.services import sweep as sweep_module
from linli.care.services.sweep import sweep_run
from linli.care.tests.conftest import ON, Population, make_person
from linli.care.workflow import shift_years
from linli.registry.models import Person, PersonTag

pytestmark = pytest.mark.django_db
LATER = ON + timedelta(days=40)  # benefits end, birthdays pass, hospitalisations leave "within 30 days"


def _state() -> dict[str, list[tuple[Any, ...]]]:
    """Everything the sweep writes, without ids and clock times."""
    return {
        "recommendations": sorted(Recommendation.objects.values_list("person_id", "policy_id", "kind", "status",
                                                                     "found_on", "reason")),
        "reviews": sorted(ReviewItem.objects.values_list("benefit_id", "reason_kind", "status", "found_on")),
        "work_orders": sorted(WorkOrder.objects.values_list("benefit_id", "kind", "status", "due_on")),
        "levels": sorted((p, c, str(r), g, s) for p, c, r, g, s in ElderLevel.objects.values_list(
            "person_id", "colour", "reasons", "grid_id", "since")),
        "level_changes": sorted((p, f, t, str(r), on) for p, f, t, r, on in ElderLevelChange.objects.values_list(
            "person_id", "from_colour", "to_colour", "reasons", "on")),
        "due_visits": sorted(DueVisit.objects.values_list("person_id", "reason_kind", "due_on", "status", "overdue")),
        "benefits": sorted(Benefit.objects.values_list("person_id", "policy_id", "state")),
    }


def _edit(population: Population, tree: Any) -> None:
    """A day's writes by every path the sweep must notice."""
    people = [p for p in population.persons if not p.is_deceased]
    Person.objects.filter(pk=people[0].pk).update(is_deceased=True)  # a death, by a bulk update
    mover = people[1]
    target = next(p for p in people[2:] if p.household_id and p.household_id != mover.household_id)
    mover.household_id = target.household_id  # household sizes of two households change
    mover.save(update_fields=["household_id"])
    PersonTag.objects.create(person=people[3], kind="living_alone_elder", source="t", valid_from=ON)
    PersonTag.objects.filter(person=people[4]).delete()
    CareProfile.objects.update_or_create(person=people[5], defaults={"income_per_head": Decimal("900")})
    CareProfile.objects.filter(person=people[6]).update(disability_grade=1, bedridden=True)
    Benefit.objects.filter(pk=Benefit.objects.filter(state=BenefitState.ACTIVE).order_by("pk").values("pk")[:1]
                           ).update(state=BenefitState.STOPPED)
    Benefit.objects.create(person=people[7], policy=Policy.objects.get(code="gaoling_80"), starts_on=ON + timedelta(days=20),
                           source=BenefitSource.WINDOW)
    CareEvent.objects.create(person=people[8], kind=CareEventKind.HOSPITALISATION, occurred_on=LATER - timedelta(days=2))
    Recommendation.objects.filter(pk=Recommendation.objects.filter(status=ItemStatus.OPEN).order_by("pk")
                                  .values("pk")[:1]).update(status=ItemStatus.DISMISSED)  # staff closed one
    make_person(tree.grid_a1.pk, "新来的", birth=shift_years(ON, 92), hukou="local")
    make_person(tree.grid_a1.pk, "快八十", birth=shift_years(ON + timedelta(days=20), 80), hukou="local")


def test_an_incremental_run_after_edits_leaves_what_a_full_run_leaves(
        population: Population, tree: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a first (full) night and a day of edits, forty days later
    first = sweep_run(on=ON)
    assert first.full
    assert not SweepChange.objects.filter(pk__lte=first.changes_upto or 0).exists()  # consumed
    _edit(population, tree)
    assert SweepChange.objects.exists()
    # when the next night sweeps only what changed (in so small a town, a large share)
    monkeypatch.setattr(sweep_module, "FULL_ABOVE_SHARE", 2.0)
    point = transaction.savepoint()
    run = sweep_run(on=LATER)
    assert not run.full
    assert run.since == ON
    incremental = _state()
    transaction.savepoint_rollback(point)
    # and, on the same data, a full sweep runs instead
    monkeypatch.setattr(sweep_module, "FULL_ABOVE_SHARE", -1.0)
    full_run = sweep_run(on=LATER)
    assert full_run.full
    # then both leave the same items, levels, history and due visits
    full = _state()
    assert incremental == full
    # and the edits did move things (the test would not see a scope that is too small otherwise)
    assert full["recommendations"] != []
    assert any(r[3] == ItemStatus.DISMISSED for r in full["recommendations"])


def test_an_incremental_run_again_creates_nothing(population: Population, tree: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweep_module, "FULL_ABOVE_SHARE", 2.0)
    sweep_run(on=ON)
    _edit(population, tree)
    sweep_run(on=LATER)
    before = _state()
    SweepRun.objects.filter(on=LATER).delete()  # forced to run the day again: incremental, nothing changed
    again = sweep_run(on=LATER)
    assert not again.full
    assert _state() == before


def test_a_rule_change_sweeps_everyone(population: Population) -> None:
    sweep_run(on=ON)
    policy = Policy.objects.get(code="gaoling_80")
    version = policy.versions.order_by("-number").first()
    assert version is not None
    version.rule = {"all": [{"field": "age", "op": "gte", "value": 79}]}
    version.save(update_fields=["rule"])
    assert sweep_run(on=ON + timedelta(days=1)).full


def test_an_unchanged_day_sweeps_few(population: Population) -> None:
    sweep_run(on=ON)
    run = sweep_run(on=ON + timedelta(days=1))
    assert not run.full
    assert sweep_module._scope_persons(run) == sorted(  # only the birthdays of the day (none here)
        sweep_module._date_crossed(ON, ON + timedelta(days=1)))
    assert date(2000, 1, 1) < run.on
