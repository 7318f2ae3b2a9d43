"""The cases API under /api/v1/: the whole loop, idempotent intake, scoping, conflicts."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import Users
from linli.accounts.models import User
from linli.cases.models import Case
from linli.cases.tests.conftest import IN_A1, PNG, Cats
from linli.cases.tests.test_open311 import make_key

pytestmark = pytest.mark.django_db

API = "/api/v1/cases"


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def act(client: Client, case: dict[str, Any], action: str, **body: Any) -> Any:
    payload = {"action": action, "expected_version": case["version"], **body}
    return client.post(f"{API}/{case['id']}/transitions", payload, content_type="application/json")


def report(client: Client, idempotency_key: str = "", **fields: Any) -> Any:
    body = {"category": "0101", "description": "小区门口有一堆垃圾", "lon": IN_A1[0], "lat": IN_A1[1], **fields}
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return client.post(API, body, content_type="application/json", headers=headers)


def test_whole_loop_through_the_api(users: Users, cats: Cats, resident: User, dept_user: User) -> None:
    # given a resident reports with a photo
    reporter = as_user(resident)
    created = report(reporter, source="resident")
    assert created.status_code == 201, created.content
    case = created.json()
    assert case["status"] == "reported"
    photo = SimpleUploadedFile("p.png", PNG, content_type="image/png")
    with_photo = reporter.post(f"{API}/{case['id']}/photos", {"photos": [photo]})
    assert with_photo.status_code == 201
    assert len(with_photo.json()["photos"]) == 1
    community, handler, worker = as_user(users.community_a), as_user(dept_user), as_user(users.grid_worker_a1)

    # when the community registers and dispatches, the department accepts and reports back,
    # the grid worker verifies, the community closes and the reporter rates
    steps: list[tuple[Client, str, dict[str, Any]]] = [
        (community, "register", {}),
        (community, "dispatch", {"data": {"department": "huanwei"}}),
        (handler, "accept", {}),
        (handler, "report_back", {"note": "已清运"}),
        (worker, "verify_pass", {}),
        (community, "close", {}),
        (reporter, "evaluate", {"data": {"satisfaction": 5}}),
    ]
    for client, action, body in steps:
        response = act(client, case, action, **body)
        assert response.status_code == 200, (action, response.content)
        case = response.json()

    # then the case is evaluated and its timeline tells the whole story
    assert case["status"] == "evaluated"
    assert case["satisfaction"] == 5
    actions = [event["action"] for event in case["timeline"]]
    assert actions == ["open", "photo", "register", "dispatch", "accept", "report_back", "verify_pass",
                       "close", "evaluate"]
    assert case["allowed_actions"] == []


def test_detail_offers_the_callers_actions(users: Users, cats: Cats, open_case: Any) -> None:
    # given a patrol case dispatched by rule to the grid worker (邻里纠纷)
    case = open_case(cats.neighbours)
    # when
    detail = as_user(users.grid_worker_a1).get(f"{API}/{case.pk}").json()
    # then
    assert detail["status"] == "dispatched"
    assert "accept" in detail["allowed_actions"]
    assert detail["timeline"][0]["action"] == "open"


def test_same_idempotency_key_returns_the_same_case(tree: Any, cats: Cats) -> None:
    # given an integration key
    key = make_key("cases.report")
    client = Client(HTTP_X_API_KEY=key)
    # when it sends the same report twice with one key, then once with another
    first = report(client, source="iot", idempotency_key="alarm-42")
    again = report(client, source="iot", idempotency_key="alarm-42")
    other = report(client, source="iot", idempotency_key="alarm-43")
    # then
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    # the first reply is built from the new case in memory, the second read from the
    # database: they must say the same
    assert again.json() == first.json()
    assert other.status_code == 201
    assert Case.objects.count() == 2
    # and the key can read back what it reported
    assert client.get(f"{API}/{first.json()['id']}").status_code == 200


def test_integration_posts_without_cookies_or_csrf(tree: Any, cats: Cats) -> None:
    # given a client that enforces CSRF like a real server does
    client = Client(enforce_csrf_checks=True, HTTP_X_API_KEY=make_key("cases.report"))
    # when
    response = report(client, source="iot")
    # then
    assert response.status_code == 201


def test_two_integrations_may_use_the_same_idempotency_key(tree: Any, cats: Cats) -> None:
    # given
    one, two = Client(HTTP_X_API_KEY=make_key("cases.report")), Client(HTTP_X_API_KEY=make_key("cases.report"))
    # when
    a = report(one, source="iot", idempotency_key="1")
    b = report(two, source="iot", idempotency_key="1")
    # then
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    assert two.get(f"{API}/{a.json()['id']}").status_code == 404


def test_key_without_report_scope_cannot_report(tree: Any, cats: Cats) -> None:
    client = Client(HTTP_X_API_KEY=make_key("view_registry"))
    response = report(client, source="iot")
    assert response.status_code == 403
    assert not Case.objects.exists()


def test_bad_report_names_the_field_and_writes_nothing(users: Users, cats: Cats) -> None:
    # when
    response = report(as_user(users.grid_worker_a1), description="  ")
    # then
    assert response.status_code == 400
    assert response.json()["field"] == "description"
    assert not Case.objects.exists()


def test_grid_worker_of_another_grid_sees_nothing(users: Users, cats: Cats, open_case: Any) -> None:
    # given a case in grid a1
    case = open_case(cats.neighbours)
    other = as_user(users.grid_worker_b1)
    # when
    detail = other.get(f"{API}/{case.pk}")
    listed = other.get(API).json()
    inbox = other.get(f"{API}/inbox").json()
    moved = act(other, {"id": case.pk, "version": case.version}, "accept")
    # then
    assert detail.status_code == 404
    assert listed["count"] == 0
    assert inbox == []
    assert moved.status_code == 404
    # while the grid's own worker has it in the inbox
    assert [c["id"] for c in as_user(users.grid_worker_a1).get(f"{API}/inbox").json()] == [case.pk]


def test_the_list_counts_up_to_a_cap_and_says_so(
    users: Users, cats: Cats, open_case: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from linli.cases import api

    monkeypatch.setattr(api, "COUNT_CAP", 2)
    worker = as_user(users.grid_worker_a1)
    opened = [open_case(cats.neighbours) for _ in range(2)]
    page = worker.get(API).json()
    assert (page["count"], page["count_capped"]) == (2, False)
    opened.append(open_case(cats.neighbours))
    page = worker.get(API, {"limit": 5}).json()
    assert (page["count"], page["count_capped"]) == (2, True)
    assert [c["id"] for c in page["items"]] == [c.pk for c in reversed(opened)]


def test_stale_version_is_a_409_conflict_with_the_current_state(users: Users, cats: Cats, open_case: Any) -> None:
    # given the worker accepted the case in another tab
    case = open_case(cats.neighbours)
    worker = as_user(users.grid_worker_a1)
    stale = {"id": case.pk, "version": case.version}
    assert act(worker, stale, "accept").status_code == 200
    # when the first tab acts with the old version
    response = act(worker, stale, "reject_back", note="不归我管")
    # then
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict"
    assert body["status"] == "accepted"
    assert "report_back" in body["allowed_actions"]
    assert {"code", "message", "field", "status", "allowed_actions"} <= set(body)


def test_action_that_does_not_apply_is_a_409_with_allowed_actions(users: Users, cats: Cats, open_case: Any) -> None:
    # given
    case = open_case(cats.neighbours)
    # when
    response = act(as_user(users.grid_worker_a1), {"id": case.pk, "version": case.version}, "close")
    # then
    assert response.status_code in {403, 409}
    body = response.json()
    assert body["status"] == "dispatched"
    assert body["allowed_actions"]


def test_statistics_are_scoped(users: Users, cats: Cats, open_case: Any) -> None:
    # given
    open_case(cats.neighbours)
    # when
    mine = as_user(users.grid_worker_a1).get(f"{API}/statistics", {"group_by": "grid"})
    theirs = as_user(users.grid_worker_b1).get(f"{API}/statistics", {"group_by": "grid"})
    bad = as_user(users.grid_worker_a1).get(f"{API}/statistics", {"group_by": "planet"})
    # then
    assert mine.status_code == 200
    assert theirs.status_code == 200
    assert all(row["label"] != "近江社区第1网格" for row in theirs.json()["rows"])
    assert bad.status_code == 400
    assert bad.json()["field"] == "group_by"


def test_categories_list_the_two_level_taxonomy(users: Users, cats: Cats) -> None:
    majors = as_user(users.grid_worker_a1).get(f"{API}/categories").json()
    city = next(m for m in majors if m["code"] == "01")
    assert any(c["code"] == "0101" for c in city["children"])
