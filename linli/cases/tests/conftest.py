"""Fixtures of the cases tests: the seeded catalogue, a department user, case factories."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from conftest import Tree, Users, make_user
from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import Department, User
from linli.cases.models import Case, Category, DispatchRule
from linli.cases.services import case_open
from linli.cases.taxonomy import taxonomy_load
from linli.geo.models import Area

# Inside grid_a1 (square 120.20–120.21, 30.20–30.21), grid_a2 and grid_b1 of the root tree.
IN_A1 = (120.205, 30.205)
IN_A2 = (120.215, 30.205)
IN_B1 = (120.205, 30.215)
OUTSIDE = (121.5, 31.2)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@dataclass
class Cats:
    """Seeded categories used by the tests."""

    rubbish: Category       # 暴露垃圾: city, dispatched to 环卫所
    neighbours: Category    # 邻里纠纷: community, dispatched to the grid worker
    manhole: Category       # 井盖缺失破损: level 1, 4 working hours
    major_city: Category    # 市容环境 (a 大类)


@pytest.fixture
def cats(db: None) -> Cats:
    # Transactional tests flush the migration's seed: load it again (idempotent).
    if not Category.objects.filter(code="0101").exists():
        taxonomy_load(Department, Category, DispatchRule)
    by_code = {c.code: c for c in Category.objects.filter(code__in=["0101", "1101", "0601", "01"])}
    return Cats(by_code["0101"], by_code["1101"], by_code["0601"], by_code["01"])


@pytest.fixture
def huanwei(cats: Cats) -> Department:
    return Department.objects.get(code="huanwei")


@pytest.fixture
def dept_user(tree: Tree, cats: Cats) -> User:
    return make_user("hw_1", Role.DEPARTMENT_STAFF, (tree.street, AssignmentKind.MEMBER),
                     department=Department.objects.get(code="huanwei"))


@pytest.fixture
def resident(tree: Tree) -> User:
    return make_user("res_1", Role.RESIDENT)


@pytest.fixture
def open_case(users: Users, cats: Cats) -> Any:
    """Factory: a case the community staff of a1 register (dispatched by the seeded rules:
    邻里纠纷 to the grid's worker); with ``actor``, a patrol report of that grid worker."""

    def make(category: Category | None = None, point: tuple[float, float] = IN_A1,
             actor: User | None = None, **kwargs: Any) -> Case:
        case, _created = case_open(
            actor=actor or users.community_a, source=kwargs.pop("source", "patrol" if actor else "staff"),
            category=category or cats.neighbours, description=kwargs.pop("description", "楼道里有人吵架"),
            lon=point[0], lat=point[1], **kwargs,
        )
        return case

    return make


def grid_of(case: Case) -> Area | None:
    return case.grid
