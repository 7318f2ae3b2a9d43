"""Search by the last 4 or last 6 characters of an ID number or a phone (issue 16 item 11):
keyed suffix indexes, filled by every write path and by the backfill, scoped, paged."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.core import pii
from linli.fusion.persist import PersonValues, persons_bulk_create
from linli.registry import selectors, services
from linli.registry.choices import HukouStatus
from linli.registry.models import Person
from linli.registry.selectors import classify_query
from linli.registry.services.suffixes import suffix_backfill
from linli.registry.tests.conftest import ACTOR
from linli.registry.text import PII_ID_NUMBER, PII_PHONE

pytestmark = pytest.mark.django_db
API = "/api/v1"


def names(persons) -> list[str]:
    return sorted(p.name for p in persons)


def test_a_suffix_digest_is_keyed_per_field_and_length_and_unlike_the_full_index(settings):
    s4 = pii.suffix_index("13812345678", field=PII_PHONE, length=4)
    assert s4 == pii.suffix_index("13900005678", field=PII_PHONE, length=4)  # same last 4: same class
    assert s4 != pii.suffix_index("13812345678", field=PII_ID_NUMBER, length=4)
    assert s4 != pii.suffix_index("13812345678", field=PII_PHONE, length=6)
    # Not the full-number blind index of the suffix: knowing one never tells the other.
    assert s4 not in pii.blind_index("5678", field=PII_PHONE)
    assert pii.suffix_index("123", field=PII_PHONE, length=4) == ""
    settings.LINLI_BLIND_INDEX_KEY = b"\x01" * 32
    assert pii.suffix_index("13812345678", field=PII_PHONE, length=4) != s4


@pytest.mark.parametrize(("query", "kind"), [
    ("5678", "suffix"), ("002x", "suffix"), ("345678", "suffix"), ("12345", "address"), ("502", "address"),
])
def test_four_or_six_digits_are_a_suffix_query(query, kind):
    assert classify_query(query) == kind


@pytest.mark.parametrize(("query", "expected"), [
    ("5678", ["王小明"]),        # phone 13812345678
    ("345678", ["王小明"]),
    ("002X", ["王小明"]),        # ID 11010519491231002X
    ("1002x", []),               # five characters: not a suffix search (and no such address)
    ("4321", ["李强"]),          # landline 0571-87654321
    ("1111", []),                # 王芳's phone, but she lives in the other community
])
def test_community_worker_finds_residents_by_the_end_of_a_number(registry, users, query, expected):
    assert names(selectors.person_search_for_user(user=users.community_a, query=query)) == expected


def test_another_area_finds_nothing_by_suffix(registry, users):
    assert selectors.person_search_for_user(user=users.community_b, query="5678") == []
    assert names(selectors.person_search_for_user(user=users.community_b, query="1111")) == ["王芳"]


@pytest.fixture
def many(registry, tree) -> list[Person]:
    """120 residents of grid a1 whose phones all end in 7777."""
    return [services.person_create(actor=ACTOR, name=f"赵{n:03d}", id_number=None, phone=f"1370{n:03d}7777",
                                   hukou=HukouStatus.LOCAL, grid=tree.grid_a1) for n in range(120)]


def test_results_are_paged_past_fifty(many, users):
    pages = [selectors.person_search_page_for_user(user=users.community_a, query="7777", limit=50, offset=o)
             for o in (0, 50, 100)]
    assert [len(p.items) for p in pages] == [50, 50, 20]
    assert [p.has_more for p in pages] == [True, True, False]
    assert len({p.pk for page in pages for p in page.items}) == 120


def test_the_search_page_links_to_the_next_page(client: Client, many, users):
    client.force_login(users.community_a)
    first = client.get(reverse("web:search"), {"q": "7777"})
    third = client.get(reverse("web:search"), {"q": "7777", "page": "3"})
    assert len(first.context["rows"]) == 50
    assert 'data-testid="pager-next"' in first.content.decode()
    assert len(third.context["rows"]) == 20
    body = third.content.decode()
    assert 'data-testid="pager-next"' not in body
    assert "第 101–120 条结果" in body


def test_the_api_pages_a_search(client: Client, many, users):
    client.force_login(users.community_a)
    first = client.get(f"{API}/persons", {"q": "7777", "limit": "100"}).json()
    rest = client.get(f"{API}/persons", {"q": "7777", "limit": "100", "offset": "100"}).json()
    assert (len(first["items"]), first["has_more"]) == (100, True)
    assert (len(rest["items"]), rest["has_more"], rest["count"]) == (20, False, 120)


def test_name_search_pages_do_not_fall_back_to_addresses(many, users):
    page = selectors.person_search_page_for_user(user=users.community_a, query="赵", limit=50, offset=100)
    assert len(page.items) == 20
    beyond = selectors.person_search_page_for_user(user=users.community_a, query="赵", limit=50, offset=150)
    assert beyond.items == []


def test_fusion_bulk_writes_fill_the_suffix_indexes(registry, users, tree):
    persons_bulk_create([PersonValues(name="钱多多", phone="13566669999", grid_id=tree.grid_a1.pk)],
                        now=timezone.now())
    assert names(selectors.person_search_for_user(user=users.community_a, query="669999")) == ["钱多多"]


def test_updating_a_phone_moves_its_suffix(registry, users):
    services.person_update(actor=ACTOR, person=registry.wang, phone="13811112222")
    assert selectors.person_search_for_user(user=users.community_a, query="5678") == []
    assert names(selectors.person_search_for_user(user=users.community_a, query="2222")) == ["王小明"]


def test_the_backfill_fills_rows_written_without_suffixes(registry, users):
    Person.objects.update(id_number_s4_bidx="", id_number_s6_bidx="", phone_s4_bidx="", phone_s6_bidx="")
    assert selectors.person_search_for_user(user=users.community_a, query="5678") == []
    call_command("linli_suffix_index", "--batch-size", "2")
    assert names(selectors.person_search_for_user(user=users.community_a, query="5678")) == ["王小明"]
    assert names(selectors.person_search_for_user(user=users.community_a, query="002X")) == ["王小明"]
    # Nothing left to fill: a second run writes nothing.
    assert suffix_backfill(Person) == 0
