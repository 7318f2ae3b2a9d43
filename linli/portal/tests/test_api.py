"""The residents' API (/api/v1/portal/): the resident's own household, applications, reports
and notices; another household's objects are 404, staff sessions and keys are 401, unsafe
methods need the CSRF token like the pages."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import Tree, Users
from linli.accounts.services.keys import api_key_create
from linli.cases.models import Case
from linli.catalogue.models import Application
from linli.portal.models import Notice
from linli.portal.services import (
    MemberInput,
    committee_member_save,
    convention_publish,
    notice_publish,
    report_submit,
)
from linli.portal.tests.conftest import Home
from linli.portal.tests.helpers import PNG, bound_resident, close_report, grant_pension
from linli.portal.tests.test_resident import instant_item

pytestmark = pytest.mark.django_db
API = "/api/v1/portal"


@pytest.fixture
def world(tree: Tree, users: Users, home: Home, cats: None) -> dict[str, Any]:
    """王芳 (household B) with a closed report and an application; 张建国 (household A) with
    a pension; notices of community A and B; 两委 and a convention of community A."""
    wang = bound_resident(home.wang, community_id=tree.community_a.pk)
    zhang = bound_resident(home.zhang, community_id=tree.community_a.pk)
    grant_pension(home.zhang)
    grant_pension(home.li, "dibao", amount="1280")
    case = report_submit(
        user=wang,
        category="1101",
        description="楼道堆物",
        photos=[SimpleUploadedFile("p.png", PNG, content_type="image/png")],
    )
    close_report(case, community=users.community_a, worker=users.grid_worker_a1)
    version = instant_item()
    client = Client()
    client.force_login(wang)
    client.post(
        f"/portal/services/{version.item_id}/apply/",
        {"name": "王芳", "id_number": home.wang.id_number_masked},
    )
    notice_a = notice_publish(
        actor=users.community_a,
        area_id=tree.community_a.pk,
        kind="finance",
        period="2026-Q3",
        title="三季度财务公开",
        body="收入支出明细",
    )
    notice_b = notice_publish(
        actor=users.community_b,
        area_id=tree.community_b.pk,
        kind="notice",
        title="婺江停电通知",
        body="周六停电",
    )
    committee_member_save(
        actor=users.community_a,
        community_id=tree.community_a.pk,
        data=MemberInput(
            body="party",
            role="secretary",
            name="陈建华",
            duty_phone="0571-87001234",
            term_start=date(2021, 5, 1),
        ),
    )
    convention_publish(
        actor=users.community_a,
        community_id=tree.community_a.pk,
        title="近江社区居民公约",
        body="爱护环境",
        effective_on=date(2024, 1, 1),
    )
    return {
        "wang": wang,
        "zhang": zhang,
        "case": Case.objects.get(),
        "application": Application.objects.get(),
        "notice_a": notice_a,
        "notice_b": notice_b,
    }


def _client(user: object, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_my_household_is_masked_and_carries_benefits_and_certifications(
    world: dict[str, Any],
) -> None:
    body = _client(world["zhang"]).get(f"{API}/household").json()
    assert body["status"] == "bound"
    assert "101" in body["room"]
    names = {m["name"] for m in body["members"]}
    assert names == {"张建国", "李**"}
    assert all("*" in m["phone_masked"] for m in body["members"])
    by_member = {b["member"]: b for b in body["benefits"]}
    assert by_member["张建国"]["amount"] == "50.00" or float(by_member["张建国"]["amount"]) == 50
    assert by_member["李**"]["amount"] is None
    assert by_member["张建国"]["certification_due_on"].endswith("-12-31")
    assert [(c["name"], c["status"]) for c in body["certifications"]] == [("张建国", "open")]
    # 王芳's household: no benefits, only herself
    other = _client(world["wang"]).get(f"{API}/household").json()
    assert [m["name"] for m in other["members"]] == ["王芳"]
    assert other["benefits"] == []


def test_applications_and_reports_are_the_residents_own(world: dict[str, Any]) -> None:
    wang = _client(world["wang"])
    apps = wang.get(f"{API}/applications").json()
    assert apps["count"] == 1
    assert apps["items"][0]["number"] == world["application"].number
    detail = wang.get(f"{API}/applications/{world['application'].pk}").json()
    assert detail["steps"]
    assert "actor" not in detail["steps"][0]
    reports = wang.get(f"{API}/reports").json()
    assert reports["count"] == 1
    report = wang.get(f"{API}/reports/{world['case'].pk}").json()
    labels = [s["label"] for s in report["steps"]]
    assert labels[0] == "上报"
    assert len(labels) >= 5
    # only what and when: no handler, no staff notes ("已调解" was the worker's note)
    assert "已调解" not in str(report)
    assert "gw_a1" not in str(report)


def test_another_households_objects_are_not_found(world: dict[str, Any]) -> None:
    zhang = _client(world["zhang"])
    assert zhang.get(f"{API}/applications").json()["count"] == 0
    assert zhang.get(f"{API}/reports").json()["count"] == 0
    for url in (
        f"{API}/applications/{world['application'].pk}",
        f"{API}/reports/{world['case'].pk}",
        f"{API}/notices/{world['notice_b'].pk}",
        f"{API}/applications/999999",
    ):
        response = zhang.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"


def test_notices_list_read_and_count_once(world: dict[str, Any]) -> None:
    zhang = _client(world["zhang"], csrf=True)
    listed = zhang.get(f"{API}/notices").json()
    titles = [n["title"] for n in listed["items"]]
    assert "三季度财务公开" in titles
    assert "婺江停电通知" not in titles
    assert [
        n["title"] for n in zhang.get(f"{API}/notices?kind=finance&period=2026-Q3").json()["items"]
    ] == ["三季度财务公开"]
    notice = world["notice_a"]
    assert zhang.get(f"{API}/notices/{notice.pk}").json()["body"] == "收入支出明细"
    # POST without the CSRF token: refused like the pages
    assert zhang.post(f"{API}/notices/{notice.pk}/read").status_code == 403
    zhang.get("/portal/")  # sets the csrftoken cookie
    token = zhang.cookies["csrftoken"].value
    first = zhang.post(f"{API}/notices/{notice.pk}/read", HTTP_X_CSRFTOKEN=token)
    again = zhang.post(f"{API}/notices/{notice.pk}/read", HTTP_X_CSRFTOKEN=token)
    assert (first.json(), again.json()) == ({"counted": True}, {"counted": False})
    assert Notice.objects.get(pk=notice.pk).read_count == 1
    assert (
        zhang.post(f"{API}/notices/{world['notice_b'].pk}/read", HTTP_X_CSRFTOKEN=token).status_code
        == 404
    )


def test_affairs_of_the_own_community(world: dict[str, Any], tree: Tree, home: Home) -> None:
    body = _client(world["zhang"]).get(f"{API}/affairs").json()
    assert [m["name"] for m in body["committee"]] == ["陈建华"]
    assert body["convention"]["title"] == "近江社区居民公约"
    # a resident of community B sees neither
    b_resident = bound_resident(home.li, community_id=tree.community_b.pk)
    other = _client(b_resident).get(f"{API}/affairs").json()
    assert other["committee"] == []
    assert other["convention"] is None


def test_staff_sessions_keys_and_anonymous_get_401(
    world: dict[str, Any], users: Users, tree: Tree
) -> None:
    _key, raw = api_key_create(
        actor=users.district_admin, name="gw", scopes=["view_registry"], areas=[tree.community_a]
    )
    for client in (_client(users.community_a), Client()):
        for url in (f"{API}/household", f"{API}/notices", f"{API}/applications", f"{API}/affairs"):
            assert client.get(url).status_code == 401, url
    assert Client().get(f"{API}/household", HTTP_X_API_KEY=raw).status_code == 401


def test_the_portal_schemas_do_not_replace_other_apps_schemas() -> None:
    # Ninja names a component after its class: the portal's "HouseholdOut" replaced the
    # registry's (and "BenefitOut" care's, "ApplicationOut" the catalogue's).
    from linli.api import api

    schema = api.get_openapi_schema()
    refs = [
        op["responses"][200]["content"]["application/json"]["schema"]["$ref"]
        for path, ops in schema["paths"].items()
        if path.startswith("/api/v1/portal/")
        for op in ops.values()
    ]
    assert refs
    assert all(ref.rsplit("/", 1)[-1].startswith("Portal") for ref in refs)
    components = schema["components"]["schemas"]
    assert "certifications" not in components["HouseholdOut"]["properties"]
    assert "source_ref" in components["BenefitOut"]["properties"]
