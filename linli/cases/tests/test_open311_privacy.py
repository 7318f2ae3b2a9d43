"""The public Open311 feed publishes a case only through its public description (issue 15, 2).

Staff entered "住户王红华 电话 138-1234-5678 身份证 3301 0219 9001 0112 37" at
"钱塘小区 3-2-502" and the feed showed both verbatim to anyone. Now: staff choose what is
public on the form (nothing when they leave it empty), a resident's report defaults to
their own words, and every text field of every request endpoint (JSON and XML, list and
single) is masked and cut to the building whatever was stored.
"""

from __future__ import annotations

import json
from importlib import import_module
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from conftest import Users
from linli.cases import services
from linli.cases.models import Case
from linli.cases.tests.conftest import IN_A1, Cats
from linli.cases.tests.test_open311 import make_key, post_request
from linli.core.errors import NotFound
from linli.core.models import AuditEntry

pytestmark = pytest.mark.django_db
BASE = "/open311/v2"
EXAMPLE = "住户王红华 电话 138-1234-5678 身份证 3301 0219 9001 0112 37"
ADDRESS = "钱塘小区 3-2-502"
# Whatever of the example must never be public, in the notations it was typed in and compact.
SECRETS = ("138-1234-5678", "13812345678", "1234-5678", "3301 0219 9001 0112 37", "330102199001011237",
           "19900101", "0219 9001", "3-2-502", "502")


def _staff_report(users: Users, cats: Cats, **extra: str) -> Case:
    staff = Client()
    staff.force_login(users.community_a)
    response = staff.post("/cases/new/", {"category": cats.rubbish.code, "description": EXAMPLE,
                                          "address": ADDRESS, "lon": IN_A1[0], "lat": IN_A1[1], **extra})
    assert response.status_code == 302, response.content.decode()[:500]
    return Case.objects.get()


def _public_bodies(case: Case) -> list[str]:
    """Every public read that may show the case, fetched without logging in."""
    anonymous = Client()
    urls = [f"{BASE}/requests/{case.number}.json", f"{BASE}/requests/{case.number}.xml",
            f"{BASE}/requests.json", f"{BASE}/requests.xml",
            f"{BASE}/requests.json?service_request_id={case.number}"]
    bodies = []
    for url in urls:
        response = anonymous.get(url)
        assert response.status_code == 200, url
        bodies.append(response.content.decode())
    return bodies


def _assert_private(bodies: list[str]) -> None:
    for body in bodies:
        text = json.dumps(json.loads(body), ensure_ascii=False) if body.lstrip().startswith("[") else body
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} is public"


def test_the_issue_example_entered_by_staff_is_not_public(users: Users, cats: Cats) -> None:
    # when staff enter the example and leave the public description empty
    case = _staff_report(users, cats)
    # then the case is listed with its building and no description at all
    bodies = _public_bodies(case)
    _assert_private(bodies)
    for body in bodies:
        assert "王红华" not in body
    row = json.loads(bodies[0])[0]
    assert row["description"] is None
    assert row["address"] == "钱塘小区 3幢"
    root = ET.fromstring(bodies[1])  # noqa: S314 -- our own server's reply
    assert root.findtext("request/address") == "钱塘小区 3幢"
    # and staff still see the full description on the case page
    assert case.description == EXAMPLE
    assert case.public_description == ""


def test_a_public_description_typed_by_staff_is_masked_when_stored_and_when_shown(users: Users, cats: Cats) -> None:
    # when staff copy the example into the public description by mistake
    case = _staff_report(users, cats, public_description=EXAMPLE + " 住" + ADDRESS)
    # then what is stored and what is shown hold no identifier
    assert case.public_description == "住户王红华 电话 138****5678 身份证 3301**********1237 住钱塘小区 3幢"
    bodies = _public_bodies(case)
    _assert_private(bodies)
    row = json.loads(bodies[0])[0]
    assert row["description"] == case.public_description
    xml_row = ET.fromstring(bodies[1]).find("request")  # noqa: S314 -- our own server's reply
    assert xml_row is not None
    assert xml_row.findtext("description") == case.public_description


def test_text_stored_before_the_rule_is_masked_on_the_way_out(users: Users, cats: Cats) -> None:
    # given a case whose public text and address were written unmasked (an older import)
    case = _staff_report(users, cats)
    Case.objects.filter(pk=case.pk).update(public_description=EXAMPLE, address="钱塘小区3幢2单元502室")
    # then no request endpoint shows them as stored
    bodies = _public_bodies(case)
    _assert_private(bodies)
    assert json.loads(bodies[0])[0]["address"] == "钱塘小区3幢"


def test_a_residents_open311_report_is_public_in_its_own_words_masked(client: Client, cats: Cats, tree: Any) -> None:
    # when a resident's app reports through Open311 with their phone in the text
    response = post_request(client, api_key=make_key("cases.report"), service_code=cats.rubbish.code,
                            lat=IN_A1[1], long=IN_A1[0], address_string="钱塘小区3幢2单元502室",
                            description="楼下垃圾没人收,联系我 138 1234 5678")
    number = response.json()[0]["service_request_id"]
    # then their words are public, their number is not
    case = Case.objects.get(number=number)
    assert case.public_description == "楼下垃圾没人收,联系我 138****5678"
    row = Client().get(f"{BASE}/requests/{number}.json").json()[0]
    assert row["description"] == "楼下垃圾没人收,联系我 138****5678"
    assert row["address"] == "钱塘小区3幢"


def test_api_report_chooses_its_public_description(users: Users, cats: Cats) -> None:
    staff = Client()
    staff.force_login(users.community_a)
    body = {"category": cats.rubbish.code, "description": EXAMPLE, "lon": IN_A1[0], "lat": IN_A1[1],
            "public_description": "东门口有建筑垃圾,电话0571-87654321"}
    response = staff.post("/api/v1/cases", body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["public_description"] == "东门口有建筑垃圾,电话0571-********"


def test_too_long_public_description_is_refused_by_name(users: Users, cats: Cats) -> None:
    staff = Client()
    staff.force_login(users.community_a)
    body = {"category": cats.rubbish.code, "description": "垃圾", "lon": IN_A1[0], "lat": IN_A1[1],
            "public_description": "长" * 2001}
    response = staff.post("/api/v1/cases", body, content_type="application/json")
    assert response.status_code == 400
    assert "public_description" in response.content.decode()
    assert not Case.objects.exists()


def test_the_data_migration_fills_the_public_description_from_the_masked_description(
    users: Users, cats: Cats,
) -> None:
    # given a case as it was before 0010 (the column emptied by hand after intake)
    case = _staff_report(users, cats)
    executor = MigrationExecutor(connection)
    migration = import_module("linli.cases.migrations.0011_case_public_description_fill")
    state = executor.loader.project_state(("cases", "0011_case_public_description_fill"))
    # when the data step runs
    migration.forward(state.apps, None)
    # then
    case.refresh_from_db()
    assert case.public_description == "住户王红华 电话 138****5678 身份证 3301**********1237"


def test_staff_publish_a_description_later_from_the_case_page_and_it_is_audited(users: Users, cats: Cats) -> None:
    # given a case published without a description
    case = _staff_report(users, cats)
    staff = Client()
    staff.force_login(users.community_a)
    # when staff choose a public text on the case page
    response = staff.post(f"/cases/{case.pk}/", {"public_description": "东门口建筑垃圾待清运 3幢2单元502室门口"})
    # then it is stored masked, shown on the feed and audited by field name
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.public_description == "东门口建筑垃圾待清运 3幢门口"
    row = Client().get(f"{BASE}/requests/{case.number}.json").json()[0]
    assert row["description"] == "东门口建筑垃圾待清运 3幢门口"
    entry = AuditEntry.objects.filter(action="case.public_description").get()
    assert (entry.actor_id, entry.target_id, entry.fields) == (users.community_a.pk, str(case.pk),
                                                               ["public_description"])


def test_another_communitys_staff_cannot_set_the_public_description(users: Users, cats: Cats) -> None:
    case = _staff_report(users, cats)
    with pytest.raises(NotFound):
        services.case_public_description_set(actor=users.community_b, case=case, text="随便写")
    outsider = Client()
    outsider.force_login(users.community_b)
    assert outsider.post(f"/cases/{case.pk}/", {"public_description": "随便写"}).status_code == 404
    case.refresh_from_db()
    assert case.public_description == ""
    assert not AuditEntry.objects.filter(action="case.public_description").exists()
