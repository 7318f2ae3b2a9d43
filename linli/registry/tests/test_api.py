"""The registry API through Django's test client: scope, masking, keys, audited reveal."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from linli.accounts.services import api_key_create, api_key_revoke
from linli.core.models import AuditEntry
from linli.registry.tests.conftest import ACTOR

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture
def as_user(client):
    def login(user) -> Client:
        client.force_login(user)
        logged_in: Client = client
        return logged_in
    return login


def test_person_detail_is_masked(registry, users, as_user):
    # when
    response = as_user(users.grid_worker_a1).get(f"{API}/persons/{registry.wang.pk}")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["id_number_masked"] == "1101**********002X"
    assert body["phone_masked"] == "138****5678"
    assert "11010519491231002X" not in response.content.decode()
    assert "13812345678" not in response.content.decode()


def test_other_area_user_gets_404_on_details_and_empty_lists(registry, users, as_user, tree):
    client = as_user(users.community_b)
    for path in (
        f"/persons/{registry.wang.pk}", f"/buildings/{registry.building_a.pk}",
        f"/buildings/{registry.building_a.pk}/chart", f"/rooms/{registry.room_a101.pk}",
        f"/households/{registry.household_a101.pk}", f"/areas/{tree.grid_a1.pk}",
    ):
        response = client.get(API + path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    assert client.get(f"{API}/persons", {"q": "王小明"}).json()["items"] == []
    assert client.get(f"{API}/buildings", {"grid": tree.grid_a1.pk}).json()["items"] == []


def test_areas_are_the_callers_and_below_not_ancestors(users, as_user, tree):
    body = as_user(users.community_a).get(f"{API}/areas").json()
    assert {a["id"] for a in body["items"]} == {tree.community_a.pk, tree.grid_a1.pk, tree.grid_a2.pk}


def test_search_lists_are_paginated(registry, users, as_user):
    client = as_user(users.street)
    first = client.get(f"{API}/persons", {"q": "王", "limit": 2}).json()
    rest = client.get(f"{API}/persons", {"q": "王", "limit": 2, "offset": 2}).json()
    assert [len(first["items"]), len(rest["items"])] == [2, 1]
    assert client.get(f"{API}/buildings", {"limit": 1}).json()["count"] == 2


def test_the_building_list_counts_numbers_as_numbers(registry, users, as_user, tree):
    # given buildings 10幢 and 2幢 of one road in grid A1 (as text, "10" sorts before "2")
    from linli.registry.models import Building

    for number in ("10", "2"):
        Building.objects.create(grid=tree.grid_a1, name=f"{number}幢", address=f"滨江路7号{number}幢",
                                lon=120.205, lat=30.205)
    client = as_user(users.grid_worker_a1)
    # when the API lists them a page at a time
    first = client.get(f"{API}/buildings", {"q": "滨江路7号", "limit": 1}).json()
    second = client.get(f"{API}/buildings", {"q": "滨江路7号", "limit": 1, "offset": 1}).json()
    # then 2幢 comes before 10幢, and the count is the whole selection
    assert [first["items"][0]["address"], second["items"][0]["address"]] == ["滨江路7号2幢", "滨江路7号10幢"]
    assert first["count"] == 2


def test_building_detail_and_chart(registry, users, as_user):
    client = as_user(users.grid_worker_a1)
    detail = client.get(f"{API}/buildings/{registry.building_a.pk}").json()
    chart = client.get(f"{API}/buildings/{registry.building_a.pk}/chart").json()
    assert [u["number"] for u in detail["units"]] == [1, 2]
    assert [r["number"] for r in detail["units"][0]["rooms"]] == ["101", "102", "201"]
    assert chart["floors"] == [2, 1]
    assert chart["units"][0]["floors"][0]["cells"][0]["vulnerable"] is True


def test_room_and_household_details(registry, users, as_user):
    client = as_user(users.grid_worker_a1)
    room = client.get(f"{API}/rooms/{registry.room_a101.pk}").json()
    household = client.get(f"{API}/households/{registry.household_a101.pk}").json()
    assert [p["name"] for p in room["residents"]] == ["王小明", "王晓红"]
    assert household["head_id"] == registry.wang.pk
    assert [p["name"] for p in household["members"]] == ["王小明", "王晓红"]


def test_api_key_bound_to_a_grid_sees_only_that_grid(registry, tree):
    # given
    _key, raw = api_key_create(actor=ACTOR, name="hotline", scopes=["view_registry"],
                               areas=[tree.grid_b1])
    client = Client(headers={"X-API-Key": raw})
    # when
    found = client.get(f"{API}/persons", {"q": "王"}).json()["items"]
    other = client.get(f"{API}/persons/{registry.wang.pk}")
    # then
    assert [p["name"] for p in found] == ["王芳"]
    assert other.status_code == 404


def test_revoked_api_key_gets_401(registry, tree):
    key, raw = api_key_create(actor=ACTOR, name="old", scopes=["view_registry"], areas=[tree.grid_b1])
    api_key_revoke(actor=ACTOR, key=key)
    response = Client(headers={"X-API-Key": raw}).get(f"{API}/persons", {"q": "王"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_anonymous_gets_401(registry):
    assert Client().get(f"{API}/persons/{registry.wang.pk}").status_code == 401


def test_reveal_without_permission_is_403_and_not_audited(registry, users, as_user):
    # when
    response = as_user(users.grid_worker_a1).post(
        f"{API}/persons/{registry.wang.pk}/reveal",
        data={"field": "id_number", "reason": "上门核实身份"}, content_type="application/json",
    )
    # then
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not AuditEntry.objects.filter(action="person.reveal").exists()


def test_reveal_without_reason_is_refused_naming_reason(registry, users, as_user):
    response = as_user(users.community_a).post(
        f"{API}/persons/{registry.wang.pk}/reveal", data={"field": "phone", "reason": "看"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "reason"


def test_reveal_with_reason_returns_value_and_audits_without_personal_values(registry, users, as_user):
    # when
    response = as_user(users.community_a).post(
        f"{API}/persons/{registry.wang.pk}/reveal",
        data={"field": "phone", "reason": "联系家属办理低保"}, content_type="application/json",
    )
    # then
    assert response.status_code == 200
    assert response.json() == {"value": "13812345678"}
    entry = AuditEntry.objects.get(action="person.reveal")
    assert entry.fields == ["phone"]
    assert entry.reason == "联系家属办理低保"
    assert entry.request_id == response["X-Request-Id"]
    # The chain hashes and timestamps may contain any digit run, so they are left out.
    rows = [
        {k: v for k, v in row.items() if k not in ("hash", "prev_hash", "created_at")}
        for row in AuditEntry.objects.values()
    ]
    dump = json.dumps(rows, default=str, ensure_ascii=False)
    for secret in ("13812345678", "11010519491231002X", "0571", "13900001111"):
        assert secret not in dump


def test_api_key_cannot_reveal(registry, tree):
    _key, raw = api_key_create(actor=ACTOR, name="k", scopes=["view_registry"], areas=[tree.grid_a1])
    response = Client(headers={"X-API-Key": raw}).post(
        f"{API}/persons/{registry.wang.pk}/reveal", data={"field": "phone", "reason": "联系家属办理"},
        content_type="application/json",
    )
    assert response.status_code == 403


def test_organisations_and_facilities_are_scoped(registry, users, as_user, tree):
    from linli.registry import services

    services.organisation_create(actor=ACTOR, kind="enterprise", name="江景物业", grid=tree.grid_a1)
    services.facility_create(actor=ACTOR, kind="hydrant", code="XF-001", name="消防栓",
                             lon=120.205, lat=30.205, grid=tree.grid_a1)
    services.facility_create(actor=ACTOR, kind="aed", code="AED-001", name="AED",
                             lon=120.205, lat=30.215, grid=tree.grid_b1)
    client = as_user(users.grid_worker_a1)
    assert [o["name"] for o in client.get(f"{API}/organisations").json()["items"]] == ["江景物业"]
    assert [f["code"] for f in client.get(f"{API}/facilities").json()["items"]] == ["XF-001"]
    assert client.get(f"{API}/facilities", {"kind": "aed"}).json()["items"] == []
    assert as_user(users.street).get(f"{API}/facilities", {"kind": "aed"}).json()["count"] == 1


def test_limit_above_200_is_capped(registry, users, as_user):
    body = as_user(users.street).get(f"{API}/buildings", {"limit": 5000}).json()
    assert body["limit"] == 200
