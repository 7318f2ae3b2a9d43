"""Fusion API under /api/v1/fusion/: scoped lists, 404 outside the caller's areas, errors as
``{code, message, field}``, decisions and answers only by people (not API keys)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from conftest import Users
from linli.accounts.choices import Permission
from linli.accounts.services import api_key_create
from linli.fusion.choices import ReviewStatus, TaskStatus
from linli.fusion.models import MatchReview, Source, VerificationTask
from linli.fusion.services import import_run
from linli.fusion.tests.test_services import (
    ID_WANG,
    MINZHENG_HEADER,
    SYSTEM,
    Street,
    minzheng_rows,
    street,  # noqa: F401 -- fixture
    write_csv,
)
from linli.fusion.tests.web_support import client_for, other_street_staff

API = "/api/v1/fusion"


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"


def post_json(client: Client, url: str, body: dict[str, Any], *, api_key: str = "") -> Any:
    headers = {"X-API-Key": api_key} if api_key else None
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


@pytest.fixture
def imported(street: Street, tmp_path: Path) -> int:  # noqa: F811
    report = import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
                        file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows()))
    assert report.job_id is not None
    return report.job_id


def test_street_staff_lists_jobs_with_their_report(imported: int, users: Users) -> None:
    # when
    body = client_for(users.street).get(f"{API}/jobs").json()
    # then
    assert body["count"] == 1
    job = body["items"][0]
    assert job["id"] == imported
    assert job["status"] == "done"
    assert job["counts"]["rejected"] == 1
    assert job["counts"]["new_persons"] == 1
    assert job["rejected_url"] == f"/fusion/imports/{imported}/rejected.csv"


def test_grid_worker_gets_no_jobs_and_404_for_one(imported: int, users: Users) -> None:
    client = client_for(users.grid_worker_a1)
    # when
    listing = client.get(f"{API}/jobs").json()
    detail = client.get(f"{API}/jobs/{imported}")
    # then
    assert listing["count"] == 0
    assert detail.status_code == 404
    assert detail.json()["code"] == "not_found"


def test_job_progress_says_when_it_is_finished(imported: int, users: Users) -> None:
    # when
    body = client_for(users.street).get(f"{API}/jobs/{imported}/progress").json()
    # then
    assert body == {"id": imported, "status": "done", "progress": 100, "finished": True}


def test_anonymous_caller_gets_401_in_the_error_format(imported: int) -> None:
    # when
    response = Client().get(f"{API}/jobs")
    # then
    assert response.status_code == 401
    assert set(response.json()) >= {"code", "message", "field"}


@pytest.fixture
def review(street: Street, tmp_path: Path) -> MatchReview:  # noqa: F811
    rows = [["赵强", ID_WANG, "", "1960-06-06", "13700001111", "", "", "", "", ""]]
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, rows))
    return MatchReview.objects.get()


def test_review_queue_gives_both_sides_masked(review: MatchReview, users: Users) -> None:
    # when
    body = client_for(users.street).get(f"{API}/reviews").json()
    # then
    assert body["count"] == 1
    item = body["items"][0]
    fields = {f["field"]: f for f in item["fields"]}
    assert fields["name"]["record"] == "赵强"
    assert fields["name"]["person"] == "王芳"
    assert fields["id_number"]["record"] == ID_WANG[:4] + "*" * 10 + ID_WANG[-4:]
    assert ID_WANG not in json.dumps(body)
    assert item["candidate_id"] == review.candidate_id


def test_another_streets_staff_sees_no_review_and_gets_404_deciding(review: MatchReview, street: Street) -> None:  # noqa: F811
    # given
    client = client_for(other_street_staff(street.tree.district))
    # when
    listing = client.get(f"{API}/reviews").json()
    decision = post_json(client, f"{API}/reviews/{review.pk}/decision", {"decision": "accept"})
    # then
    assert listing["count"] == 0
    assert decision.status_code == 404
    review.refresh_from_db()
    assert review.status == ReviewStatus.OPEN


def test_review_decision_accepts_and_a_second_one_is_refused(review: MatchReview, users: Users) -> None:
    client = client_for(users.street)
    # when
    first = post_json(client, f"{API}/reviews/{review.pk}/decision", {"decision": "accept"})
    second = post_json(client, f"{API}/reviews/{review.pk}/decision", {"decision": "reject"})
    # then
    assert first.status_code == 200
    assert first.json() == {"review_id": review.pk, "status": "accepted", "person_id": review.candidate_id}
    assert second.status_code == 400
    assert second.json()["code"] == "fusion.already_decided"


def test_unknown_decision_names_the_field(review: MatchReview, users: Users) -> None:
    # when
    response = post_json(client_for(users.street), f"{API}/reviews/{review.pk}/decision", {"decision": "maybe"})
    # then
    assert response.status_code == 422
    assert response.json()["field"] == "decision"


def test_provenance_lists_each_field_and_is_404_outside_the_grid(imported: int, users: Users,
                                                                 street: Street) -> None:  # noqa: F811
    # when
    own = client_for(users.grid_worker_a1).get(f"{API}/persons/{street.wang.pk}/provenance")
    other = client_for(users.grid_worker_b1).get(f"{API}/persons/{street.wang.pk}/provenance")
    # then
    assert own.status_code == 200
    fields = {f["field"]: f for f in own.json()}
    assert fields["name"]["current"] == "王芳"
    assert fields["name"]["values"][0]["department"] == "民政"
    assert ID_WANG not in own.content.decode()
    assert other.status_code == 404


@pytest.fixture
def phone_task(street: Street, tmp_path: Path) -> VerificationTask:  # noqa: F811
    rows = [["王芳", ID_WANG, "男", "1980-01-01", "13911112222", "", "", "", "", ""]]
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, rows))
    return VerificationTask.objects.get(field="phone")


def test_tasks_are_listed_for_the_grid_and_not_for_another(phone_task: VerificationTask, users: Users) -> None:
    # when
    own = client_for(users.grid_worker_a1).get(f"{API}/tasks").json()
    other = client_for(users.grid_worker_b1).get(f"{API}/tasks").json()
    # then
    assert [t["id"] for t in own["items"]] == [phone_task.pk]
    assert own["items"][0]["evidence"][-1]["value"] == "139****2222"
    assert other["count"] == 0


def test_answering_a_task_updates_it(phone_task: VerificationTask, users: Users, street: Street) -> None:  # noqa: F811
    # when
    response = post_json(client_for(users.grid_worker_a1), f"{API}/tasks/{phone_task.pk}/answer",
                         {"value": "13911112222", "note": "上门核实"})
    # then
    assert response.status_code == 200
    assert response.json()["status"] == TaskStatus.ANSWERED
    street.wang.refresh_from_db()
    assert street.wang.phone_masked == "139****2222"


def test_invalid_answer_names_the_field_and_leaves_the_task_open(phone_task: VerificationTask,
                                                                 users: Users) -> None:
    # when
    response = post_json(client_for(users.grid_worker_a1), f"{API}/tasks/{phone_task.pk}/answer", {"value": "12ab"})
    # then
    assert response.status_code == 400
    assert response.json()["field"] == "phone"
    phone_task.refresh_from_db()
    assert phone_task.status == TaskStatus.OPEN


def test_api_key_neither_lists_nor_answers_tasks(phone_task: VerificationTask, street: Street) -> None:  # noqa: F811
    # given
    _key, raw = api_key_create(actor=SYSTEM, name="网格系统", scopes=[Permission.VIEW_REGISTRY],
                               areas=[street.tree.grid_a1])
    client = Client()
    # when
    listing = client.get(f"{API}/tasks", HTTP_X_API_KEY=raw)
    answer = post_json(client, f"{API}/tasks/{phone_task.pk}/answer", {"value": "13911112222"}, api_key=raw)
    # then
    # view_registry opens the registry reads only; tasks are work for people (docs/api.md)
    assert listing.json()["count"] == 0
    assert answer.status_code == 403
    assert answer.json()["code"] == "permission_denied"
    phone_task.refresh_from_db()
    assert phone_task.status == TaskStatus.OPEN
