"""The demo's department users handle their department's cases and applications (#16.1).

Before, ``dept_mz`` carried its department as the text "民政" while cases named the
department by its code "minzheng": the lookup compared the two, so 民政's staff got 404 on
a case dispatched to 民政办 and an empty case list. One department row now serves both."""

from __future__ import annotations

import pytest

from linli.accounts.models import Department, User
from linli.cases.models import Category, DispatchRule
from linli.cases.selectors import case_get_for_user, case_inbox_for_user, case_list_for_user
from linli.cases.services import case_open, case_transition
from linli.cases.taxonomy import taxonomy_load
from linli.catalogue.models import ServiceItem
from linli.catalogue.seed_items import catalogue_seed
from linli.core.actors import SystemActor
from linli.demo.selectors import demo_accounts
from linli.demo.services import demo_seed
from linli.geo.choices import AreaLevel
from linli.geo.models import Area

ACTOR = SystemActor("command:seed")


@pytest.fixture
def demo_street(db: None) -> None:
    if not Category.objects.exists():  # a flushed database: the migration's seed is gone
        taxonomy_load(Department, Category, DispatchRule)
    demo_seed(actor=ACTOR, residents=0, seed=1, street_only=True, analyze=False)


def test_demo_department_staff_belong_to_the_departments_cases_are_dispatched_to(demo_street: None) -> None:
    # given / when
    mz, cl = User.objects.get(username="dept_mz"), User.objects.get(username="dept_cl")
    # then
    assert mz.department == Department.objects.get(code="minzheng")
    assert cl.department == Department.objects.get(code="canlian")
    shown = {a.username: a.department for a in demo_accounts(one_per_role=False)}
    assert (shown["dept_mz"], shown["dept_cl"]) == ("民政办", "残联")


def test_demo_civil_affairs_user_opens_lists_and_accepts_a_case_dispatched_to_its_department(
    demo_street: None,
) -> None:
    # given street staff dispatch a 社会救助 case in the first grid to 民政办
    street, mz = User.objects.get(username="street"), User.objects.get(username="dept_mz")
    grid = Area.objects.filter(level=AreaLevel.GRID).order_by("code").first()
    assert grid is not None
    assert grid.centroid_lon is not None
    assert grid.centroid_lat is not None
    case, _ = case_open(actor=street, source="staff", category="1503", description="独居老人生活困难,申请救助",
                        lon=grid.centroid_lon, lat=grid.centroid_lat)
    case = case_transition(case=case.pk, action="reassign" if case.status == "dispatched" else "dispatch",
                           actor=street, data={"department": "minzheng"})
    # when / then the department user finds it, lists it, has it in the inbox and accepts it
    assert case_get_for_user(user=mz, case_id=case.pk) == case
    assert list(case_list_for_user(user=mz)) == [case]
    assert case_inbox_for_user(user=mz) == [case]
    assert case_transition(case=case.pk, action="accept", actor=mz).status == "accepted"
    # and 残联's user sees none of it
    assert list(case_list_for_user(user=User.objects.get(username="dept_cl"))) == []


def test_seed_catalogue_items_belong_to_the_same_departments_as_the_staff(demo_street: None) -> None:
    # when the seed catalogue is loaded
    catalogue_seed(actor=ACTOR)
    # then 民政's items are 民政办's, the department dept_mz belongs to
    mz = User.objects.get(username="dept_mz")
    assert ServiceItem.objects.filter(code="MZ001", department=mz.department).exists()
    from linli.catalogue.data.items import SEED_ITEMS

    assert ServiceItem.objects.filter(department__code="canlian").count() == sum(
        1 for item in SEED_ITEMS if item.department == "残联")
