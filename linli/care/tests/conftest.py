"""Fixtures of the care tests: the seeded policies and a varied small population."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest

from conftest import Tree
from linli.care.choices import BenefitSource, CareEventKind
from linli.care.models import Benefit, CareEvent, CareProfile, Policy
from linli.care.services import policies_seed
from linli.care.workflow import shift_years
from linli.registry.models import Household, Person, PersonTag

ON = date(2026, 6, 15)
TAGS = ["living_alone_elder", "empty_nest_elder", "disabled", "subsistence"]


@pytest.fixture
def seeded(db: None) -> None:
    policies_seed()


def make_person(grid_id: int, name: str = "王秀英", *, birth: date | None = None, **kw: object) -> Person:
    return Person.objects.create(name=name, name_pinyin="wangxiuying", name_initials="wxy", birth_date=birth,
                                 grid_id=grid_id, **kw)


@dataclass
class Population:
    persons: list[Person]


@pytest.fixture
def population(tree: Tree, seeded: None) -> Population:
    """120 persons with every fact a rule reads varied (and sometimes missing)."""
    rng = random.Random(7)
    grids = [tree.grid_a1.pk, tree.grid_a2.pk, tree.grid_b1.pk]
    policies = {p.code: p for p in Policy.objects.all()}
    persons = []
    households: list[Household] = []
    for i in range(120):
        grid = grids[i % 3]
        if not households or rng.random() < 0.5:
            households.append(Household.objects.create(number=f"H{i:04d}", grid_id=grid))
        age = rng.choice([None, 5, 30, 49, 59, 60, 69, 70, 79, 80, 85, 89, 90, 99, 100, 101])
        birth = None if age is None else shift_years(ON, age) - timedelta(days=rng.choice([0, 1, 200]))
        person = make_person(
            grid, f"居民{i}", birth=birth, sex=rng.choice(["M", "F", ""]),
            hukou=rng.choice(["local", "local", "migrant"]), is_deceased=rng.random() < 0.08,
            household=rng.choice([None, households[-1], households[-1]]))
        for tag in TAGS:
            if rng.random() < 0.25:
                PersonTag.objects.create(person=person, kind=tag, source="test", valid_from=date(2020, 1, 1),
                                         valid_to=rng.choice([None, date(2025, 1, 1)]))
        if rng.random() < 0.7:
            CareProfile.objects.create(
                person=person, disability_grade=rng.choice([None, 1, 2, 3, 4]), bedridden=rng.random() < 0.2,
                income_per_head=rng.choice([None, Decimal("800"), Decimal("1280"), Decimal("1500"), Decimal("5000")]),
                only_child_lost=rng.random() < 0.15)
        for code in ("dibao", "dibian", "tekun", "gaoling_80"):
            if rng.random() < 0.15:
                Benefit.objects.create(person=person, policy=policies[code], starts_on=date(2025, 1, 1),
                                       ends_on=rng.choice([None, ON + timedelta(days=10), date(2026, 1, 1)]),
                                       source=BenefitSource.MINZHENG_IMPORT)
        if rng.random() < 0.2:
            CareEvent.objects.create(person=person, kind=CareEventKind.HOSPITALISATION,
                                     occurred_on=ON - timedelta(days=rng.choice([3, 29, 30, 31, 90])))
        persons.append(person)
    return Population(persons)


@pytest.fixture(autouse=True)
def _fresh_living_total() -> None:
    """The live count keeps the population total a few minutes per process: each test
    counts its own population."""
    from linli.care import selectors

    selectors._living_totals.clear()
