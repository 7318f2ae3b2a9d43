"""Scoped registry reads: search by every kind of query, details, chart, counts."""

from __future__ import annotations

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from linli.accounts.selectors import scope_for
from linli.core.errors import NotFound, PermissionDenied
from linli.registry import selectors
from linli.registry.choices import TagKind
from linli.registry.models import Person
from linli.registry.selectors import classify_query, parse_address_query

pytestmark = pytest.mark.django_db


def names(persons: list[Person]) -> list[str]:
    return sorted(p.name for p in persons)


@pytest.mark.parametrize(("query", "kind"), [
    ("王", "name"), ("王小", "name"), ("wxm", "pinyin"), ("Wang", "pinyin"),
    ("11010519491231002x", "id"), ("110105491231002", "id"), ("138 1234 5678", "phone"),
    ("0571-87654321", "phone"), ("望江路", "address"), ("3-2-502", "address"),
    ("江景苑3幢2单元502", "address"), ("12号", "address"),
])
def test_query_kind_is_detected(query, kind):
    assert classify_query(query) == kind


@pytest.mark.parametrize(("query", "parsed"), [
    ("江景苑 12-3-502", ("江景苑", "12", 3, "502")),
    ("3幢2单元502室", ("", "3", 2, "502")),
    ("江景苑3幢", ("江景苑", "3", None, None)),
    ("望江路100号", ("望江路100号", None, None, None)),
])
def test_address_query_is_split_into_text_and_numbers(query, parsed):
    got = parse_address_query(query)
    assert (got.text, got.building, got.unit, got.room) == parsed


@pytest.mark.parametrize(("query", "expected"), [
    ("王", ["王小明", "王晓红"]),
    ("王小", ["王小明"]),
    ("wxm", ["王小明"]),
    ("wangx", ["王小明", "王晓红"]),
    ("WX", ["王小明", "王晓红"]),
    ("11010519491231002x", ["王小明"]),
    ("+86 138-1234-5678", ["王小明"]),
    ("0571 8765 4321", ["李强"]),
    ("望江路", ["李强", "王小明", "王晓红"]),
    ("江景苑", ["李强", "王小明", "王晓红"]),
    ("江景苑 3-1-201", ["李强"]),
    ("3幢1单元101", ["王小明", "王晓红"]),
])
def test_community_worker_finds_own_residents_by_every_kind_of_query(registry, users, query, expected):
    assert names(selectors.person_search_for_user(user=users.community_a, query=query)) == expected


@pytest.mark.parametrize("query", ["王", "wf", "13900001111", "金色新村", "婺江路"])
def test_grid_worker_cannot_find_other_grid_person(registry, users, query):
    assert selectors.person_search_for_user(user=users.grid_worker_a1, query=query) in (
        [], [registry.wang, registry.wang_wife],
    )
    assert registry.fang not in selectors.person_search_for_user(user=users.grid_worker_a1, query=query)


def test_street_user_sees_both_communities(registry, users):
    assert names(selectors.person_search_for_user(user=users.street, query="王")) == [
        "王小明", "王晓红", "王芳"]


def test_search_uses_a_constant_number_of_queries(registry, users):
    with CaptureQueriesContext(connection) as captured:
        selectors.person_search_for_user(user=users.street, query="王")
    # scope (stamp, then assignments and areas: not cached yet), ids from the index, rows
    # joined with building/room/unit/grid
    assert len(captured) == 5
    with CaptureQueriesContext(connection) as captured:
        selectors.person_search_for_user(user=users.street, query="王")
    assert len(captured) == 3  # the scope from the cache: its stamp only


def test_auditor_may_not_read_the_registry(registry, users):
    with pytest.raises(PermissionDenied):
        selectors.person_search_for_user(user=users.auditor, query="王")


def test_details_of_other_community_are_not_found(registry, users):
    for call in (
        lambda: selectors.person_get_for_user(user=users.community_b, person_id=registry.wang.pk),
        lambda: selectors.building_get_for_user(user=users.community_b, building_id=registry.building_a.pk),
        lambda: selectors.room_get_for_user(user=users.community_b, room_id=registry.room_a101.pk),
        lambda: selectors.household_get_for_user(user=users.community_b,
                                                 household_id=registry.household_a101.pk),
        lambda: selectors.person_get_for_user(user=users.community_b, person_id=999_999),
    ):
        with pytest.raises(NotFound):
            call()


def test_building_list_for_other_grid_is_empty(registry, users, tree):
    assert list(selectors.building_list_for_user(user=users.grid_worker_a1, grid_id=tree.grid_b1.pk)) == []
    assert [b.pk for b in selectors.building_list_for_user(user=users.street, query="金色")] == [
        registry.building_b.pk]


def test_household_members_list_head_first(registry, users):
    view = selectors.household_view_for_user(user=users.grid_worker_a1,
                                             household_id=registry.household_a101.pk)
    assert [p.name for p in view.members] == ["王小明", "王晓红"]
    assert view.head == registry.wang
    assert view.others == 0


def test_building_chart_has_floors_top_down_with_residents_and_vulnerable_rooms(registry, users):
    # when
    with CaptureQueriesContext(connection) as captured:
        chart = selectors.building_chart(user=users.grid_worker_a1, building_id=registry.building_a.pk)
    # then
    assert len(captured) <= 9  # with the scope's stamp (its cache is cold here)
    unit1 = chart.units[0]
    assert [u.number for u in chart.units] == [1, 2]
    assert [f.floor for f in unit1.floors] == [2, 1]
    cells = {c.number: c for f in unit1.floors for c in f.cells}
    assert cells["101"].residents == 2
    assert cells["101"].household_ids == (registry.household_a101.pk,)
    assert cells["201"].vulnerable
    assert cells["201"].tag_kinds == (TagKind.DISABLED, TagKind.LIVING_ALONE_ELDER)
    assert not cells["101"].vulnerable
    assert cells["102"].use == "rented"
    assert chart.residents == 3


def test_counts_cover_only_the_callers_area(registry, users):
    counts = selectors.registry_counts_for_user(user=users.community_a)
    assert counts["persons"] == 3
    assert counts["buildings"] == 1
    assert counts["rooms"] == 4
    assert counts["households"] == 1
    assert counts["elders"] == 3
    assert counts[f"tag:{TagKind.DISABLED}"] == 1


def test_counts_are_kept_per_scope_for_the_configured_time(registry, users, settings):
    # given counts kept for a minute
    settings.LINLI_REGISTRY_COUNTS_SECONDS = 60
    cache.clear()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = selectors.registry_counts_for_user(user=users.community_a)
        # when a person is added
        Person.objects.create(name="新居民", grid=registry.building_a.grid, birth_date=registry.li.birth_date)
        # then the same scope reads the kept counts until they expire, another scope its own
        assert selectors.registry_counts_for_user(user=users.community_a) == first
        other = selectors.registry_counts_for_user(user=users.community_b)
        scope_b = scope_for(users.community_b)
        assert other == selectors._registry_counts(sorted(scope_b.grid_ids), timezone.localdate(),
                                                   sorted(scope_b.area_ids), selectors.placement_pool(scope_b))
        assert other != first
        clock.shift(61)
        assert selectors.registry_counts_for_user(user=users.community_a)["persons"] == first["persons"] + 1
        # and a caller changing what he got does not change what the next one gets
        selectors.registry_counts_for_user(user=users.community_a)["persons"] = -1
        assert selectors.registry_counts_for_user(user=users.community_a)["persons"] == first["persons"] + 1
    cache.clear()


def test_person_history_lists_audit_entries_newest_first(registry):
    history = selectors.person_history(person=registry.li)
    assert [e.action for e in history] == ["person.tag_add", "person.tag_add", "person.create"]
    assert [e.seq for e in selectors.person_history(person=registry.li, limit=2)] == [e.seq for e in history[:2]]
