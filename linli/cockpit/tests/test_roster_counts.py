"""The emergency page's totals and ranking read straight from the registry's current rows.

The first screen (``area_roster_page_for_user``) counts in SQL and ranks from the indexes
(registry migration 0008); these tests hold it to the full roster's answer whenever a
resident moves, dies, loses a tag or lives apart from their household.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from linli.cockpit import selectors
from linli.cockpit.tests.conftest import SHAPE, Emergency, household
from linli.registry.choices import TagKind
from linli.registry.models import Household, Person, PersonTag

pytestmark = pytest.mark.django_db


def _page(em: Emergency) -> selectors.RosterPage:
    return selectors.area_roster_page_for_user(user=em.users.street, shape=SHAPE, limit=50)


def _agree(em: Emergency) -> selectors.RosterPage:
    """The page's totals and households are the full roster's."""
    page = _page(em)
    full = selectors.area_roster_for_user(user=em.users.street, shape=SHAPE)
    assert (page.households, page.residents, page.vulnerable) == (
        len(full.households), full.residents, len(full.vulnerable))
    assert [h.household_id for h in page.page[:page.vulnerable]] == [h.household_id for h in full.vulnerable]
    assert sorted(h.household_id for h in page.page) == sorted(h.household_id for h in full.households)
    return page


def test_counts_and_ranking_of_the_fixture(em: Emergency) -> None:
    page = _agree(em)
    assert (page.households, page.residents, page.vulnerable) == (5, 8, 3)
    assert [h.household_id for h in page.page[:3]] == [em.disabled.pk, em.elder.pk, em.family.pk]


def test_a_resident_who_moves_out_leaves_the_list_and_the_counts(em: Emergency) -> None:
    # given the elder living alone moves to 望江路30号, outside the drawn square
    elder = Person.objects.get(household=em.elder)
    elder.room, elder.building, elder.household = em.outside.room, em.b30, em.outside
    elder.save(update_fields=["room", "building", "household"])
    # then her flat stays (empty) but is no longer vulnerable, and she is counted nowhere inside
    page = _agree(em)
    assert (page.households, page.residents, page.vulnerable) == (5, 7, 2)
    assert em.elder.pk not in [h.household_id for h in page.page[:page.vulnerable]]
    assert elder.pk not in [m.person_id for h in page.page for m in h.members]


def test_an_ended_tag_or_a_death_takes_the_household_off_the_vulnerable(em: Emergency) -> None:
    # given the disabled resident's tag ended yesterday and the elder living alone died
    today = timezone.localdate()
    PersonTag.objects.filter(person__household=em.disabled).update(valid_to=today - timedelta(days=1))
    Person.objects.filter(household=em.elder).update(is_deceased=True, deceased_on=today)
    page = _agree(em)
    # then only the family with a child is still vulnerable; the elder's flat stays, empty
    assert (page.households, page.residents, page.vulnerable) == (5, 7, 1)
    assert page.page[0].household_id == em.family.pk


def test_a_member_registered_in_a_household_elsewhere_is_not_counted_here(em: Emergency) -> None:
    # given a bedridden resident placed in 望江路12号 but registered in the household of
    # 望江路30号 (outside), and an empty household in 望江路14号
    outside_member = household(em.b12, 3, "301", [("钱多", date(1950, 1, 1), [TagKind.BEDRIDDEN])])
    person = Person.objects.get(household=outside_member)
    person.household = em.outside
    person.save(update_fields=["household"])
    empty = household(em.b14, 1, "102", [])
    # then the household outside does not come in, the empty one counts, she is not counted
    page = _agree(em)
    ids = [h.household_id for h in page.page]
    assert em.outside.pk not in ids
    assert empty.pk in ids
    assert outside_member.pk in ids
    assert (page.households, page.residents, page.vulnerable) == (7, 8, 3)
    assert Household.objects.filter(pk=outside_member.pk, members__isnull=True).exists()
