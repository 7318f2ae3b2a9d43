"""The catalogue API: items, one-sentence search, idempotent submission, transitions with
409 on conflict, scoping, appointments."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from conftest import Tree
from linli.catalogue.choices import ApplicationStatus
from linli.catalogue.models import Application, ServiceWindow
from linli.catalogue.seed_items import catalogue_seed
from linli.catalogue.services import window_create
from linli.catalogue.tests.conftest import (
    SEED,
    CatalogueUsers,
    ItemFactory,
    PersonFactory,
    valid_data,
)
from linli.core.calendar import is_working_day

BASE = "/api/v1/services"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def post_json(client: Client, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(f"{BASE}{path}", json.dumps(body), content_type="application/json", headers=headers)


def test_items_list_and_detail(client: Client, cat_users: CatalogueUsers, publish: ItemFactory) -> None:
    # given
    version = publish(name="高龄津贴")
    client.force_login(cat_users.base.community_a)
    # when
    listing = client.get(f"{BASE}/items")
    by_code = client.get(f"{BASE}/items/{version.item.code}")
    # then
    assert listing.status_code == 200
    assert [row["name"] for row in listing.json()["items"]] == ["高龄津贴"]
    assert by_code.json()["materials"][0]["code"] == "id_card"
    assert by_code.json()["form"]["steps"][0]["key"] == "applicant"


def test_one_sentence_search_returns_the_item_with_its_materials(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory,
) -> None:
    # given
    publish(name="高龄津贴")
    publish(name="失业登记", department="人社")
    client.force_login(cat_users.base.community_a)
    # when
    response = client.get(f"{BASE}/search", {"q": "我失业了要去登记"})
    # then
    hits = response.json()
    assert hits[0]["item"]["name"] == "失业登记"
    assert hits[0]["materials"][0]["name"] == "居民身份证"


def test_one_sentence_search_answers_an_empty_list_when_no_item_fits(
    client: Client, cat_users: CatalogueUsers,
) -> None:
    # given the whole seed catalogue
    catalogue_seed(actor=SEED)
    client.force_login(cat_users.base.community_a)
    # when
    response = client.get(f"{BASE}/search", {"q": "明天天气怎么样"})
    # then
    assert response.status_code == 200
    assert response.json() == []


def test_submit_is_idempotent_with_the_same_key(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory, make_person: PersonFactory,
) -> None:
    # given
    version = publish()
    person = make_person()
    client.force_login(cat_users.base.community_a)
    body = {"item": version.item.code, "applicant_id": person.pk, "data": valid_data(), "channel": "window"}
    # when the same request is sent twice
    first = post_json(client, "/applications", body, **{"Idempotency-Key": "abc-1"})
    again = post_json(client, "/applications", body, **{"Idempotency-Key": "abc-1"})
    # then one application exists, and the retry answers with it
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Application.objects.count() == 1
    out = first.json()
    assert out["status"] == ApplicationStatus.SUBMITTED
    assert "id_number_enc" not in out["data"]
    assert out["data"]["id_number"].count("*") >= 8
    assert "start_pre_review" in out["allowed_actions"]


def test_multipart_submit_stores_the_upload_and_a_bad_field_is_named(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    # given
    version = publish()
    client.force_login(cat_users.base.community_a)
    payload = {"item": version.item.code, "data": valid_data(), "community_id": tree.community_a.pk}
    # when
    good = client.post(f"{BASE}/applications", {
        "payload": json.dumps(payload), "photo": SimpleUploadedFile("id.png", PNG, content_type="image/png"),
    })
    bad = post_json(client, "/applications", {**payload, "data": {**valid_data(), "phone": "12345"}})
    # then
    assert good.status_code == 201
    assert [f["material_code"] for f in good.json()["files"]] == ["id_card"]
    assert bad.status_code == 400
    assert bad.json()["field"] == "phone"
    assert Application.objects.count() == 1


def test_illegal_transition_is_409_with_status_and_allowed_actions(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    # given a freshly submitted application
    version = publish()
    client.force_login(cat_users.base.community_a)
    app = post_json(client, "/applications", {"item": version.item.code, "data": valid_data(),
                                              "community_id": tree.community_a.pk}).json()
    # when the clerk tries to approve a promised street item straight away
    response = post_json(client, f"/applications/{app['id']}/transitions", {"action": "approve"})
    # then
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "illegal_transition"
    assert body["status"] == ApplicationStatus.SUBMITTED
    assert "start_pre_review" in body["allowed_actions"]
    assert set(body) >= {"code", "message", "field"}


def test_stale_expected_version_is_a_409_conflict(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    # given
    version = publish()
    client.force_login(cat_users.base.community_a)
    app = post_json(client, "/applications", {"item": version.item.code, "data": valid_data(),
                                              "community_id": tree.community_a.pk}).json()
    moved = post_json(client, f"/applications/{app['id']}/transitions",
                      {"action": "start_pre_review", "expected_version": app["version"]})
    # when another client still holds the old version
    stale = post_json(client, f"/applications/{app['id']}/transitions",
                      {"action": "forward", "expected_version": app["version"]})
    # then
    assert moved.status_code == 200
    assert moved.json()["status"] == ApplicationStatus.PRE_REVIEW
    assert stale.status_code == 409
    assert stale.json()["code"] == "conflict"
    assert stale.json()["status"] == ApplicationStatus.PRE_REVIEW
    assert "forward" in stale.json()["allowed_actions"]


def test_another_community_gets_404_from_the_api(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    # given
    version = publish()
    client.force_login(cat_users.base.community_a)
    app = post_json(client, "/applications", {"item": version.item.code, "data": valid_data(),
                                              "community_id": tree.community_a.pk}).json()
    # when
    client.force_login(cat_users.base.community_b)
    detail = client.get(f"{BASE}/applications/{app['id']}")
    step = post_json(client, f"/applications/{app['id']}/transitions", {"action": "withdraw"})
    # then
    assert detail.status_code == 404
    assert detail.json()["code"] == "not_found"
    assert step.status_code == 404


def test_anonymous_caller_is_401(client: Client, db: None) -> None:
    # when
    response = client.get(f"{BASE}/items")
    # then
    assert response.status_code == 401


@pytest.fixture
def window(tree: Tree) -> ServiceWindow:
    hours = {str(d): [["08:30", "11:30"]] for d in range(1, 6)}
    return window_create(actor=SEED, code="W9", name="婺江窗口", community=tree.community_a,
                         opening_hours=hours, slot_minutes=60, capacity_per_slot=1)


def test_appointments_slots_book_and_cancel(client: Client, cat_users: CatalogueUsers, window: ServiceWindow) -> None:
    # given
    day = timezone.localdate() + timedelta(days=3)
    while not is_working_day(day):
        day += timedelta(days=1)
    client.force_login(cat_users.base.community_a)
    slots = client.get(f"{BASE}/windows/{window.pk}/slots", {"day": day.isoformat()}).json()
    start = slots[0]["start"]
    # when
    booked = post_json(client, "/appointments", {"window_id": window.pk, "slot_start": start,
                                                 "name": "王秀英", "phone": "13812345678"})
    full = post_json(client, "/appointments", {"window_id": window.pk, "slot_start": start,
                                               "name": "李桂兰", "phone": "13900001111"})
    cancelled = client.post(f"{BASE}/appointments/{booked.json()['id']}/cancel")
    # then
    assert [s["available"] for s in slots] == [1, 1, 1]
    assert booked.status_code == 201
    assert booked.json()["phone_masked"] == "138****5678"
    assert full.status_code == 400
    assert full.json()["code"] == "slot_full"
    assert cancelled.json()["status"] == "cancelled"
