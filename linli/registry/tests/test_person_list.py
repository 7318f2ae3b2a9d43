"""Key-population lists (issue 16 item 10): scoped, filtered by tag, grid and age, paged,
exported as a masked spreadsheet; the same filters through the API."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from linli.core.errors import PermissionDenied, ValidationFailed
from linli.core.models import AuditEntry
from linli.registry import selectors
from linli.registry.choices import TagKind
from linli.registry.selectors import PersonFilter, age_on, parse_person_filter, person_list_for_user

pytestmark = pytest.mark.django_db
API = "/api/v1"
ON = date(2026, 6, 1)


def names(rows) -> list[str]:
    return sorted(p.name for p in rows)


def test_list_by_tag_grid_and_age_is_scoped(registry, users, tree):
    street = users.street
    assert names(person_list_for_user(user=street, filters=PersonFilter(tag=TagKind.LIVING_ALONE_ELDER),
                                      on=ON)) == ["李强"]
    assert names(person_list_for_user(user=street, filters=PersonFilter(grid_id=tree.grid_b1.pk), on=ON)) == ["王芳"]
    # 王小明 born 1949-12-31 is 76, 王晓红 1955-03-02 is 71, 李强 1940-01-01 is 86, 王芳 1990 is 36.
    assert names(person_list_for_user(user=street, filters=PersonFilter(age_min=71, age_max=76), on=ON)) == [
        "王小明", "王晓红"]
    assert names(person_list_for_user(user=street, filters=PersonFilter(age_min=77), on=ON)) == ["李强"]
    assert names(person_list_for_user(user=street, filters=PersonFilter(age_max=70), on=ON)) == ["王芳"]


def test_another_areas_user_gets_nothing(registry, users, tree):
    other = users.community_b
    assert list(person_list_for_user(user=other, filters=PersonFilter(tag=TagKind.LIVING_ALONE_ELDER))) == []
    # Naming a grid of another community is no way in either.
    assert list(person_list_for_user(user=other, filters=PersonFilter(grid_id=tree.grid_a1.pk))) == []
    with pytest.raises(PermissionDenied):
        person_list_for_user(user=users.auditor, filters=PersonFilter())


def test_age_is_counted_in_whole_years_to_the_day():
    assert age_on(date(1966, 6, 1), ON) == 60
    assert age_on(date(1966, 6, 2), ON) == 59
    assert age_on(date(2000, 2, 29), date(2025, 2, 28)) == 24


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"tag": "aliens"}, "tag"), ({"age_min": -1}, "age_min"), ({"age_max": 200}, "age_max"),
    ({"age_min": 70, "age_max": 60}, "age_max"),
])
def test_bad_filters_name_the_field(kwargs, field):
    with pytest.raises(ValidationFailed) as caught:
        parse_person_filter(**kwargs)
    assert caught.value.field == field


def test_the_home_tiles_link_to_the_lists(client: Client, registry, users):
    client.force_login(users.community_a)
    body = client.get(reverse("web:home")).content.decode()
    assert f'href="{reverse("web:persons")}?tag=living_alone_elder"' in body
    assert f'href="{reverse("web:persons")}?age_min=60"' in body


def test_the_list_page_is_paged_and_filtered(client: Client, registry, users, monkeypatch):
    monkeypatch.setattr("linli.web.views.registry.LIST_PAGE_SIZE", 2)
    client.force_login(users.street)
    first = client.get(reverse("web:persons"))
    second = client.get(reverse("web:persons"), {"page": 2})
    alone = client.get(reverse("web:persons"), {"tag": "living_alone_elder"})
    assert first.status_code == second.status_code == alone.status_code == 200
    assert first.context["page"].paginator.count == 4
    assert len(first.context["rows"]) == 2
    assert len(second.context["rows"]) == 2
    assert [p.name for p, _kinds in alone.context["rows"]] == ["李强"]
    body = alone.content.decode()
    assert "独居老人" in body
    assert 'data-testid="persons-export"' in body
    assert "33010219400101001" not in body  # masked only


def test_the_list_page_of_another_area_is_empty_and_bad_age_is_explained(client: Client, registry, users):
    client.force_login(users.community_b)
    response = client.get(reverse("web:persons"), {"tag": "living_alone_elder"})
    assert response.context["page"].paginator.count == 0
    bad = client.get(reverse("web:persons"), {"age_min": "70", "age_max": "60"})
    assert bad.status_code == 200
    assert "最大年龄不能小于最小年龄" in bad.content.decode()


def test_listing_a_sensitive_population_is_logged(client: Client, registry, users):
    client.force_login(users.street)
    client.get(reverse("web:persons"), {"tag": "disabled"})
    client.get(reverse("web:persons"), {"tag": "living_alone_elder"})
    logged = AuditEntry.objects.filter(action="person.list_sensitive", actor_id=users.street.pk)
    assert [e.reason.split()[0] for e in logged] == ["tag=disabled"]


def _xlsx_strings(body: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(body)) as book:
        return book.read("xl/sharedStrings.xml").decode()


def test_the_list_exports_as_a_masked_spreadsheet_and_is_audited(client: Client, registry, users):
    client.force_login(users.street)
    response = client.get(reverse("web:persons-xlsx"), {"tag": "living_alone_elder"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    strings = _xlsx_strings(response.content)
    assert "李强" in strings
    assert "3301**********" in strings
    assert "王小明" not in strings
    assert "33010219400101001" not in strings
    entry = AuditEntry.objects.get(action="registry.export_list")
    assert "tag=living_alone_elder" in entry.reason
    assert "rows=1" in entry.reason


def test_export_needs_the_export_right(client: Client, registry, users):
    client.force_login(users.grid_worker_a1)
    assert client.get(reverse("web:persons-xlsx"), {"tag": "living_alone_elder"}).status_code == 403
    assert not AuditEntry.objects.filter(action="registry.export_list").exists()


def test_the_api_takes_the_same_filters(client: Client, registry, users, tree):
    client.force_login(users.street)
    body = client.get(f"{API}/persons", {"tag": "living_alone_elder"}).json()
    assert [p["name"] for p in body["items"]] == ["李强"]
    assert body["count"] == 1
    grid = client.get(f"{API}/persons", {"grid": tree.grid_b1.pk}).json()
    assert [p["name"] for p in grid["items"]] == ["王芳"]
    paged = client.get(f"{API}/persons", {"limit": 3, "offset": 3}).json()
    assert paged["count"] == 4
    assert len(paged["items"]) == 1
    bad = client.get(f"{API}/persons", {"age_min": 70, "age_max": 60})
    assert bad.status_code == 400
    assert bad.json()["field"] == "age_max"


def test_the_api_gives_another_area_nothing(client: Client, registry, users):
    client.force_login(users.community_b)
    body = client.get(f"{API}/persons", {"tag": "living_alone_elder"}).json()
    assert body == {"count": 0, "limit": 50, "offset": 0, "items": [], "has_more": False}


def test_age_filter_matches_the_home_page_count(registry, users):
    counts = selectors.registry_counts_for_user(user=users.street, on=ON)
    listed = person_list_for_user(user=users.street, filters=PersonFilter(age_min=60), on=ON)
    assert listed.count() == counts["elders"]


def test_searching_a_key_population_offers_its_list(client: Client, registry, users):
    client.force_login(users.community_a)
    body = client.get(reverse("web:search"), {"q": "独居老人"}).content.decode()
    assert f'href="{reverse("web:persons")}?tag=living_alone_elder"' in body
    assert 'data-testid="search-empty"' not in body
