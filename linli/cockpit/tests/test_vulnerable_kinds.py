"""卧床 and 孕产妇 in emergency mode: first in the list, on the density layer, in the drill-down."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from linli.cockpit import selectors
from linli.cockpit.tests.conftest import SHAPE, Emergency
from linli.registry.choices import SENSITIVE_TAGS, VULNERABLE_TAGS, TagKind
from linli.registry.models import Household, Person, PersonTag

pytestmark = pytest.mark.django_db


def tag(household: Household, name: str, kind: TagKind, *, valid_to: date | None = None) -> None:
    person = Person.objects.get(household=household, name=name)
    PersonTag.objects.create(
        person=person, kind=kind, source="卫健", valid_from=date(2020, 1, 1), valid_to=valid_to
    )


@pytest.fixture
def tagged(em: Emergency) -> Emergency:
    # given 孙伟 (婺江路8号) bedridden, 刘芳 (the couple in 望江路12号 201) pregnant, and a
    # pregnancy of 张丽 (the family with a child) that ended last year
    tag(em.wujiang, "孙伟", TagKind.BEDRIDDEN)
    tag(em.couple, "刘芳", TagKind.PREGNANT)
    tag(em.family, "张丽", TagKind.PREGNANT, valid_to=date(2021, 1, 1))
    return em


def test_the_new_kinds_are_vulnerable_and_sensitive() -> None:
    assert {TagKind.BEDRIDDEN, TagKind.PREGNANT} <= VULNERABLE_TAGS
    assert {TagKind.BEDRIDDEN, TagKind.PREGNANT} <= SENSITIVE_TAGS  # health data: access is logged


def test_bedridden_come_first_and_pregnant_after_the_elders(tagged: Emergency) -> None:
    # when the street operator draws the square
    roster = selectors.area_roster_for_user(user=tagged.users.street, shape=SHAPE)
    # then the bedridden resident's household leads, the pregnant one follows the elder living alone
    assert [h.household_id for h in roster.vulnerable] == [
        tagged.wujiang.pk,
        tagged.disabled.pk,
        tagged.elder.pk,
        tagged.couple.pk,
        tagged.family.pk,
    ]
    kinds = {h.household_id: h.kinds for h in roster.vulnerable}
    assert kinds[tagged.wujiang.pk] == ["bedridden"]
    assert kinds[tagged.couple.pk] == ["pregnant"]
    assert kinds[tagged.family.pk] == ["child"]  # the ended pregnancy no longer counts
    couple = next(h for h in roster.vulnerable if h.household_id == tagged.couple.pk)
    assert couple.members[0].name == "刘芳"  # the member who needs help is named first


def test_the_json_pages_give_the_same_order(tagged: Emergency) -> None:
    client = Client()
    client.force_login(tagged.users.street)
    page = client.post(
        reverse("cockpit:roster-json") + "?limit=4",
        json.dumps({"shape": SHAPE}),
        content_type="application/json",
    ).json()
    column = page["columns"].index
    assert page["vulnerable"] == 5
    assert [r[column("id")] for r in page["rows"]] == [
        tagged.wujiang.pk,
        tagged.disabled.pk,
        tagged.elder.pk,
        tagged.couple.pk,
    ]


def test_another_streets_operator_does_not_see_them(tagged: Emergency) -> None:
    roster = selectors.area_roster_for_user(user=tagged.other_operator, shape=SHAPE)
    assert [h.household_id for h in roster.households] == [tagged.other_household.pk]
    cockpit = selectors.cockpit_for_user(user=tagged.other_operator)
    assert sorted(int(str(d["n"])) for d in cockpit.layers["density"]) == [1]


def test_density_layer_and_drill_count_them(tagged: Emergency) -> None:
    # the cockpit's density layer counts them at their buildings, without names
    cockpit = selectors.cockpit_for_user(user=tagged.users.street)
    density = {(d["lon"], d["lat"]): d["n"] for d in cockpit.layers["density"]}
    assert density == {
        (120.203, 30.203): 2,
        (120.207, 30.207): 1,
        (120.205, 30.2092): 1,
        (120.215, 30.205): 1,
    }  # the last: 周杰, living alone outside the square
    # the grid drill-down lists them by their label
    a1 = selectors.grid_drill_for_user(user=tagged.users.street, grid_id=tagged.tree.grid_a1.pk)
    assert dict(a1.vulnerable) == {"独居老人": 1, "残疾人": 1, "孕产妇": 1}
    b1 = selectors.grid_drill_for_user(user=tagged.users.street, grid_id=tagged.tree.grid_b1.pk)
    assert dict(b1.vulnerable) == {"卧床": 1}
