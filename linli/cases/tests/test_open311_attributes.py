"""Open311 per-category attributes: listed in the service definition (both formats, the
specification's field order), ``metadata=true`` in the service list, and POSTed
``attribute[code]`` values checked and stored on the case."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from linli.cases.models import Case, Category
from linli.cases.tests.conftest import IN_A1, Cats
from linli.cases.tests.test_open311 import BASE, child_tags, post_request, report_key, xml

pytestmark = pytest.mark.django_db
__all__ = ["report_key"]  # the fixture, used by name

ATTRIBUTE_FIELDS = ["variable", "code", "datatype", "required", "datatype_description", "order",
                    "description", "values"]
LIFT = "1601"     # 电梯故障: appeal type and "anyone trapped", both required single-value lists
OUTAGE = "1501"   # 停水停电: a required multi-value list and an optional datetime


@pytest.fixture
def lift(cats: Cats) -> Category:
    return Category.objects.get(code=LIFT)


def test_services_list_says_which_services_have_attributes(client: Client, cats: Cats) -> None:
    services = {s["service_code"]: s for s in client.get(f"{BASE}/services.json").json()}
    assert services[LIFT]["metadata"] is True
    assert services[cats.rubbish.code]["metadata"] is False
    root = xml(client.get(f"{BASE}/services.xml"))
    metadata = {s.findtext("service_code"): s.findtext("metadata") for s in root.findall("service")}
    assert metadata[LIFT] == "true"


def test_service_definition_lists_the_attributes_in_both_formats(client: Client, lift: Category) -> None:
    # when
    body = client.get(f"{BASE}/services/{LIFT}.json").json()
    root = xml(client.get(f"{BASE}/services/{LIFT}.xml"))
    # then JSON: the attributes in order, each with the specification's fields
    assert body["service_code"] == LIFT
    codes = [a["code"] for a in body["attributes"]]
    assert codes == ["appeal_type", "trapped"]
    first = body["attributes"][0]
    assert list(first) == ATTRIBUTE_FIELDS
    assert first["datatype"] == "singlevaluelist"
    assert first["required"] is True
    assert first["variable"] is True
    assert [a["order"] for a in body["attributes"]] == [1, 2]
    assert {"key": "complaint", "name": "投诉"} in first["values"]
    # and XML: <attributes><attribute>… with <values><value><key/><name/></value>
    attribute = root.find("attributes/attribute")
    assert child_tags(attribute) == ATTRIBUTE_FIELDS
    assert root.findtext("attributes/attribute/values/value/key") == "complaint"
    assert root.findtext("attributes/attribute/required") == "true"


def _post(client: Client, key: str, code: str, **attributes: Any) -> Any:
    fields: dict[str, Any] = {"api_key": key, "service_code": code, "lat": IN_A1[1], "long": IN_A1[0],
                              "description": "3号楼电梯停在两层之间"}
    fields.update(attributes)
    return post_request(client, **fields)


def test_post_stores_the_attributes_on_the_case(client: Client, lift: Category, report_key: str) -> None:
    # when
    response = _post(client, report_key, LIFT, **{"attribute[appeal_type]": "help", "attribute[trapped]": "yes"})
    # then
    assert response.status_code == 200, response.content
    case = Case.objects.get(number=response.json()[0]["service_request_id"])
    assert case.attributes == {"appeal_type": "help", "trapped": "yes"}
    assert "是否有人被困: 有人被困" in case.description


def test_post_without_a_required_attribute_is_400_naming_it(client: Client, lift: Category, report_key: str) -> None:
    response = _post(client, report_key, LIFT, **{"attribute[appeal_type]": "help"})
    assert response.status_code == 400
    assert "attribute[trapped]" in response.json()[0]["description"]
    assert not Case.objects.exists()


@pytest.mark.parametrize("attributes", [
    {"attribute[appeal_type]": "nonsense", "attribute[trapped]": "yes"},            # not a listed key
    {"attribute[appeal_type][]": ["help", "complaint"], "attribute[trapped]": "yes"},  # two for a single list
])
def test_post_with_an_invalid_value_is_400(client: Client, lift: Category, report_key: str,
                                           attributes: dict[str, Any]) -> None:
    response = _post(client, report_key, LIFT, **attributes)
    assert response.status_code == 400
    assert "attribute[appeal_type]" in response.json()[0]["description"]
    assert not Case.objects.exists()


def test_multi_value_list_and_datetime(client: Client, cats: Cats, report_key: str) -> None:
    # when several outages and a start time are reported
    response = _post(client, report_key, OUTAGE, **{
        "attribute[appeal_type]": "help", "attribute[outage][]": ["water", "power"],
        "attribute[since]": "2026-11-23T08:00:00+08:00",
    })
    # then all are stored, the list as a list
    assert response.status_code == 200, response.content
    case = Case.objects.get(number=response.json()[0]["service_request_id"])
    assert case.attributes == {"appeal_type": "help", "outage": ["water", "power"],
                               "since": "2026-11-23T08:00:00+08:00"}
    # and a time that is not one is refused
    bad = _post(client, report_key, OUTAGE, **{
        "attribute[appeal_type]": "help", "attribute[outage][]": ["water"], "attribute[since]": "昨天",
        "description": "又停水了",
    })
    assert bad.status_code == 400


def test_unknown_attribute_codes_are_ignored(client: Client, cats: Cats, report_key: str) -> None:
    response = _post(client, report_key, cats.rubbish.code, **{"attribute[colour]": "blue"})
    assert response.status_code == 200
    case = Case.objects.get(number=response.json()[0]["service_request_id"])
    assert case.attributes == {}
