"""Search, person (with reveal), household and building pages."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import Users
from linli.core.models import AuditEntry
from linli.registry.choices import Relation, Sex
from linli.web.tests.conftest import Street, make_person


def result_ids(response) -> list[int]:
    return [person.pk for person, _kinds in response.context["rows"]]


@pytest.mark.parametrize("query", ["王小明", "wangxiaoming", "wxm", "13812345678"])
def test_search_finds_the_resident_by_name_pinyin_initials_and_phone(
    client: Client, users: Users, street: Street, query: str,
) -> None:
    # given
    client.force_login(users.community_a)
    # when
    response = client.get(reverse("web:search"), {"q": query})
    # then
    assert response.status_code == 200
    assert result_ids(response) == [street.elder_a.pk]
    body = response.content.decode()
    assert 'data-testid="search-result"' in body
    assert "3301**********" in body
    assert "138****5678" in body
    assert street.elder_id_number not in body
    assert "1单元101室" in body
    assert "空巢老人" in body


def test_search_by_full_id_number_and_by_address(client: Client, users: Users, street: Street) -> None:
    # given
    client.force_login(users.community_a)
    # when
    by_id = client.get(reverse("web:search"), {"q": street.elder_id_number})
    by_address = client.get(reverse("web:search"), {"q": "望江路12号"})
    # then
    assert result_ids(by_id) == [street.elder_a.pk]
    assert sorted(result_ids(by_address)) == sorted([street.elder_a.pk, street.spouse_a.pk])


def test_search_with_a_mistyped_id_number_says_why_in_chinese(
    client: Client, users: Users, street: Street,
) -> None:
    # given the elder's number with its last character changed
    wrong = street.elder_id_number[:-1] + ("0" if street.elder_id_number[-1] != "0" else "1")
    client.force_login(users.community_a)
    # when
    response = client.get(reverse("web:search"), {"q": wrong})
    # then the page explains the check character instead of showing an empty list
    assert response.status_code == 200
    assert response.context["rows"] == []
    assert "校验" in response.context["error"]
    assert 'role="alert"' in response.content.decode()


def test_search_never_returns_another_communitys_resident(client: Client, users: Users, street: Street) -> None:
    # given
    client.force_login(users.community_a)
    # when
    response = client.get(reverse("web:search"), {"q": "王小"})
    # then
    assert result_ids(response) == [street.elder_a.pk]
    assert "王小红" not in response.content.decode()


def test_htmx_search_returns_only_the_results_fragment(client: Client, users: Users, street: Street) -> None:
    # given
    client.force_login(users.community_a)
    # when
    response = client.get(reverse("web:search"), {"q": "wxm"}, headers={"HX-Request": "true"})
    # then
    body = response.content.decode()
    assert "<html" not in body
    assert 'data-testid="search-result"' in body
    assert "HX-Request" in response["Vary"]


def test_empty_search_shows_the_help_text(client: Client, users: Users) -> None:
    # given
    client.force_login(users.community_a)
    # when
    response = client.get(reverse("web:search"))
    # then
    body = response.content.decode()
    assert 'data-testid="search-input"' in body
    assert "拼音首字母" in body
    assert "完整的11位手机号" in body


def test_person_page_shows_masked_data_household_and_tags(client: Client, users: Users, street: Street) -> None:
    # given
    client.force_login(users.grid_worker_a1)
    # when
    response = client.get(reverse("web:person", args=[street.elder_a.pk]))
    # then
    assert response.status_code == 200
    body = response.content.decode()
    assert "基本信息" in body
    assert street.elder_a.id_number_masked in body
    assert street.elder_id_number not in body
    assert reverse("web:household", args=[street.household_a.pk]) in body
    assert reverse("web:building", args=[street.building_a.pk]) in body
    assert "空巢老人" in body
    assert "民政" in body


def test_grid_worker_sees_no_reveal_form_and_cannot_post_one(client: Client, users: Users, street: Street) -> None:
    # given
    client.force_login(users.grid_worker_a1)
    url = reverse("web:person", args=[street.elder_a.pk])
    # when
    page = client.get(url)
    posted = client.post(url, {"field": "id_number", "reason": "入户走访核实身份"})
    # then
    assert 'data-testid="reveal-form"' not in page.content.decode()
    assert posted.status_code == 403
    assert not AuditEntry.objects.filter(action="person.reveal").exists()


def test_reveal_shows_the_value_once_and_writes_an_audit_entry(client: Client, users: Users, street: Street) -> None:
    # given
    client.force_login(users.community_a)
    url = reverse("web:person", args=[street.elder_a.pk])
    assert 'data-testid="reveal-form"' in client.get(url).content.decode()
    # when
    response = client.post(url, {"field": "id_number", "reason": "入户走访核实身份"})
    # then
    assert response.status_code == 200
    assert street.elder_id_number in response.content.decode()
    entry = AuditEntry.objects.get(action="person.reveal")
    assert entry.actor_id == users.community_a.pk
    assert entry.target_id == str(street.elder_a.pk)
    assert entry.fields == ["id_number"]
    assert entry.reason == "入户走访核实身份"
    assert street.elder_id_number not in client.get(url).content.decode()


def test_reveal_with_a_too_short_reason_shows_the_error(client: Client, users: Users, street: Street) -> None:
    # given
    client.force_login(users.community_a)
    # when
    response = client.post(reverse("web:person", args=[street.elder_a.pk]),
                           {"field": "phone", "reason": "看"})
    # then
    body = response.content.decode()
    assert 'data-testid="reveal-error"' in body
    assert "事由" in body
    assert street.elder_phone not in body
    assert not AuditEntry.objects.filter(action="person.reveal").exists()


def test_opening_a_person_with_a_sensitive_tag_is_logged(client: Client, users: Users, street: Street) -> None:
    # given
    client.force_login(users.community_a)
    # when
    client.get(reverse("web:person", args=[street.spouse_a.pk]))
    client.get(reverse("web:person", args=[street.elder_a.pk]))
    # then
    logged = AuditEntry.objects.filter(action="person.view_sensitive")
    assert [e.target_id for e in logged] == [str(street.spouse_a.pk)]


def test_household_page_lists_members_with_relation_and_tags(client: Client, users: Users, street: Street) -> None:
    # given
    client.force_login(users.community_a)
    # when
    response = client.get(reverse("web:household", args=[street.household_a.pk]))
    # then
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('data-testid="household-member"') == 2
    assert "户主" in body
    assert "配偶" in body
    assert "残疾人" in body


def test_building_chart_has_one_cell_per_room_coloured_by_use(client: Client, users: Users, street: Street) -> None:
    # given
    client.force_login(users.grid_worker_a1)
    # when
    response = client.get(reverse("web:building", args=[street.building_a.pk]))
    # then
    assert response.status_code == 200
    body = response.content.decode()
    assert "楼栋图" in body
    assert body.count('data-testid="chart-cell"') == 3
    assert 'data-room="102" data-use="rented"' in body
    assert "room use-self vulnerable" in body
    assert reverse("web:household", args=[street.household_a.pk]) in body
    assert "出租" in body


@pytest.mark.parametrize("page", ["person", "household", "building"])
def test_other_communitys_objects_are_404(client: Client, users: Users, street: Street, page: str) -> None:
    # given
    client.force_login(users.community_a)
    target = {"person": street.person_b, "household": street.household_b,
              "building": street.building_b}[page]
    # when
    response = client.get(reverse(f"web:{page}", args=[target.pk]))
    # then
    assert response.status_code == 404
    assert "不在您的管辖范围内" in response.content.decode()


def test_search_query_count_does_not_grow_with_the_number_of_results(
    client: Client, users: Users, street: Street,
) -> None:
    # given
    make_person(
        name="王大伟", first17="33010219900101333", phone="13600003333", birth=date(1990, 1, 1),
        sex=Sex.MALE, room=street.room_a102, household=street.household_a, relation=Relation.OTHER,
    )
    client.force_login(users.community_a)

    def queries_for(query: str) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("web:search"), {"q": query})
        return len(result_ids(response)), len(captured.captured_queries)

    # when
    queries_for("王小明")  # the first request of a session does extra session work
    one_result, queries_for_one = queries_for("王小明")
    two_results, queries_for_two = queries_for("王")
    # then
    assert (one_result, two_results) == (1, 2)
    assert queries_for_two == queries_for_one
