"""``Household.living_members`` follows every way a household's membership changes — services,
bulk loads in either order, raw SQL, deletes, deaths — and a stale ORM write of it is put
right (on SQLite and PostgreSQL: the database's triggers keep it, migration 0014)."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from linli.core.bulk import bulk_insert_objects
from linli.registry import services
from linli.registry.choices import HukouStatus
from linli.registry.models import Household, Person
from linli.registry.tests.conftest import ACTOR, Registry

pytestmark = pytest.mark.django_db


def living(household: Household) -> int:
    return Household.objects.values_list("living_members", flat=True).get(pk=household.pk)


def truth() -> dict[int, int]:
    """Every household's living members, counted."""
    return dict(Household.objects.annotate(n=Count("members", filter=Q(members__is_deceased=False)))
                .values_list("pk", "n"))


def stored() -> dict[int, int]:
    return dict(Household.objects.values_list("pk", "living_members"))


def test_members_added_by_the_service_are_counted(registry: Registry) -> None:
    # given 王小明 and 王晓红 registered into H-A101 by the service (the fixture)
    # then the household counts two living members
    assert living(registry.household_a101) == 2
    # when a child is registered into it
    services.person_create(actor=ACTOR, name="王小宝", id_number=None, phone=None, hukou=HukouStatus.LOCAL,
                           household=registry.household_a101, relation="child")
    # then three
    assert living(registry.household_a101) == 3


def test_moving_a_person_between_households_moves_the_count(registry: Registry) -> None:
    # given a second household
    other = services.household_create(actor=ACTOR, number="H-A201", room=registry.room_a201)
    # when 王晓红 moves to it, then 王小明 leaves his own (to none)
    services.person_update(actor=ACTOR, person=registry.wang_wife, household=other)
    assert (living(registry.household_a101), living(other)) == (1, 1)
    services.person_update(actor=ACTOR, person=registry.wang, household=None)
    # then each count follows
    assert (living(registry.household_a101), living(other)) == (0, 1)


def test_a_death_leaves_the_count_and_other_updates_do_not_touch_it(registry: Registry) -> None:
    # when 王晓红 is marked deceased
    services.person_mark_deceased(actor=ACTOR, person=registry.wang_wife, deceased_on=date(2025, 1, 1))
    # then one living member is left
    assert living(registry.household_a101) == 1
    # and a full save of a person (all columns, nothing about membership changed) keeps it
    services.person_update(actor=ACTOR, person=registry.wang, phone="13900002222")
    assert living(registry.household_a101) == 1
    # a deceased member moving out changes nothing; undoing a death counts them again
    Person.objects.filter(pk=registry.wang_wife.pk).update(is_deceased=False)
    assert living(registry.household_a101) == 2


def test_deleting_members_or_the_household_keeps_counts_right(registry: Registry) -> None:
    # when one member is deleted
    registry.wang_wife.delete()
    # then the count drops
    assert living(registry.household_a101) == 1
    # when the household goes (its members are kept, without a household)
    registry.household_a101.delete()
    # then the members left are in no household, and every other count is still right
    assert Person.objects.get(pk=registry.wang.pk).household_id is None
    assert stored() == truth()


def test_a_stale_orm_save_of_the_household_is_recomputed(registry: Registry) -> None:
    # given the household read before a member joined
    stale = Household.objects.get(pk=registry.household_a101.pk)
    services.person_create(actor=ACTOR, name="王小宝", id_number=None, phone=None, hukou=HukouStatus.LOCAL,
                           household=registry.household_a101, relation="child")
    # when the stale copy is saved (every column, its old count of 2 among them)
    stale.head = registry.wang_wife
    stale.save()
    # then the count is the database's, not the copy's
    assert living(registry.household_a101) == 3
    # and a write of a wrong value by hand is put right the same way
    Household.objects.filter(pk=registry.household_a101.pk).update(living_members=40)
    assert living(registry.household_a101) == 3


def test_bulk_loads_count_members_whichever_table_comes_first(registry: Registry) -> None:
    # given persons loaded in bulk into an existing household (one statement: COPY on PostgreSQL)
    grid_id = registry.household_a101.grid_id
    now = timezone.now()
    bulk_insert_objects(Person, [Person(name=f"居民{i}", name_pinyin="jumin", name_initials="jm", grid_id=grid_id,
                                        household_id=registry.household_a101.pk, is_deceased=i == 0,
                                        created_at=now, updated_at=now)
                                 for i in range(4)])
    # then the three living among them are counted
    assert living(registry.household_a101) == 5
    # when a bulk load writes members before their household (deferred foreign keys: fusion, the seeder)
    next_id = (Household.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 100
    bulk_insert_objects(Person, [Person(name=f"先到{i}", name_pinyin="xiandao", name_initials="xd", grid_id=grid_id,
                                        household_id=next_id, created_at=now, updated_at=now) for i in range(2)])
    Household.objects.bulk_create([Household(pk=next_id, number="H-LATE", grid_id=grid_id)])
    # then the household counts them on arrival
    assert living(Household.objects.get(pk=next_id)) == 2
    assert stored() == truth()


def test_raw_sql_moves_are_counted(registry: Registry) -> None:
    # given two households
    other = services.household_create(actor=ACTOR, number="H-B101", room=registry.room_b101)
    # when one raw statement moves both members of H-A101 and another deletes one of them
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_person SET household_id = %s WHERE household_id = %s",
                       [other.pk, registry.household_a101.pk])
        cursor.execute("DELETE FROM registry_person WHERE id = %s", [registry.wang_wife.pk])
    # then the counts follow
    assert (living(registry.household_a101), living(other)) == (0, 1)
    assert stored() == truth()
