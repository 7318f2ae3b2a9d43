"""The scope matrix of issue 15: who may do what through the API, per principal.

Each row is (principal, request, expected status and what the body may contain). A key is
bound to 近江社区 (grids a1, a2); 婺江社区 (grid b1) is outside it.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from linli.accounts.choices import Permission
from linli.accounts.services import api_key_create
from linli.cases.models import Case
from linli.cases.tests.conftest import IN_A1, IN_B1, Cats, cats, huanwei, open_case  # noqa: F401 -- fixtures
from linli.fusion.models import VerificationTask
from linli.registry.tests.conftest import registry  # noqa: F401 -- fixture

pytestmark = pytest.mark.django_db


def _key(users: Any, tree: Any, *scopes: str) -> str:
    _key_row, raw = api_key_create(actor=users.district_admin, name="12345 热线", scopes=list(scopes),
                                   areas=[tree.community_a])
    return raw


@pytest.fixture
def reporter(users: Any, tree: Any, cats: Cats) -> Client:  # noqa: F811
    return Client(HTTP_X_API_KEY=_key(users, tree, Permission.REPORT_CASES))


def _report(client: Client, cats: Cats, **where: Any) -> Any:  # noqa: F811
    return client.post("/api/v1/cases", {"category": cats.rubbish.code, "description": "垃圾满溢", "source": "hotline",
                                         **where}, content_type="application/json")


def test_a_bound_key_reports_inside_its_community(reporter: Client, cats: Cats) -> None:  # noqa: F811
    response = _report(reporter, cats, lon=IN_A1[0], lat=IN_A1[1])
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("where", ["coordinates", "address"])
def test_a_bound_key_cannot_report_outside_its_community(
    reporter: Client, cats: Cats, registry: Any, where: str,  # noqa: F811
) -> None:
    # given a position in 婺江社区, by coordinates or by a building's address
    body = ({"lon": IN_B1[0], "lat": IN_B1[1]} if where == "coordinates"
            else {"address": registry.building_b.address})
    # when
    response = _report(reporter, cats, **body)
    # then refused, naming the field, and nothing written
    assert response.status_code == 400, response.content
    assert response.json()["field"] == ("lon" if where == "coordinates" else "address")
    assert not Case.objects.exists()


def test_open311_address_id_of_another_community_is_unknown_to_a_bound_key(
    users: Any, tree: Any, cats: Cats, registry: Any,  # noqa: F811
) -> None:
    raw = _key(users, tree, Permission.REPORT_CASES)
    outside = Client().post("/open311/v2/requests.json", {
        "api_key": raw, "service_code": cats.rubbish.code, "address_id": registry.building_b.pk})
    inside = Client().post("/open311/v2/requests.json", {
        "api_key": raw, "service_code": cats.rubbish.code, "address_id": registry.building_a.pk})
    assert outside.status_code == 400
    assert "address_id" in outside.content.decode()
    assert inside.status_code in {200, 201}, inside.content
    assert Case.objects.count() == 1


def test_a_view_registry_key_lists_no_verification_tasks(users: Any, tree: Any, registry: Any) -> None:  # noqa: F811
    # given an open task in the key's own grid
    VerificationTask.objects.create(person=registry.wang, field="phone", grid=tree.grid_a1,
                                    evidence={"current": {"value": ""}, "incoming": {"value": "x"}})
    client = Client(HTTP_X_API_KEY=_key(users, tree, Permission.VIEW_REGISTRY))
    # when / then: the registry is open to it, the tasks are not
    assert client.get("/api/v1/persons", {"q": "王"}).status_code == 200
    assert client.get("/api/v1/fusion/tasks").json()["count"] == 0
    # while the grid worker of that grid sees it
    worker = Client()
    worker.force_login(users.grid_worker_a1)
    assert worker.get("/api/v1/fusion/tasks").json()["count"] == 1


def test_the_auditor_gets_an_empty_statistics_table(users: Any, open_case: Any) -> None:  # noqa: F811
    # given a case in the district the auditor is assigned to
    open_case()
    auditor, street = Client(), Client()
    auditor.force_login(users.auditor)
    street.force_login(users.street)
    # when / then: the auditor reads the audit log, not case data
    assert street.get("/api/v1/cases/statistics").json()["rows"]
    table = auditor.get("/api/v1/cases/statistics").json()
    assert (table["rows"], table["total"]) == ([], None)
