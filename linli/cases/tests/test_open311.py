"""Open311 GeoReport v2: both formats as the specification writes them, status codes,
privacy of the public reads, and the POST path through the intake service."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from linli.accounts.models import ApiKey
from linli.cases.choices import CaseSource, CaseStatus
from linli.cases.disclosure import public_address, public_text
from linli.cases.models import Case
from linli.cases.tests.conftest import IN_A1, Cats
from linli.geo.models import Area

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"
REQUEST_FIELDS = [
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
    "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url",
]
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]


def make_key(*scopes: str) -> str:
    """An integration key with the given scopes, bound to every area there is (a key reports
    only inside its areas); returns the raw secret."""
    prefix = secrets.token_hex(4)
    raw = f"ll_{prefix}_{secrets.token_urlsafe(24)}"
    key = ApiKey.objects.create(name=f"key {prefix}", prefix=prefix, scopes=list(scopes),
                                key_hash=hashlib.sha256(raw.encode()).hexdigest())
    key.areas.set(Area.objects.filter(parent__isnull=True))
    return raw


@pytest.fixture
def report_key(tree: Any) -> str:
    return make_key("cases.report")


def post_request(client: Client, fmt: str = "json", **fields: Any) -> Any:
    return client.post(f"{BASE}/requests.{fmt}", fields)


def xml(response: Any) -> ET.Element:
    return ET.fromstring(response.content)  # noqa: S314 -- our own server's reply


def child_tags(element: ET.Element | None) -> list[str]:
    assert element is not None
    return [child.tag for child in element]


# --- discovery and services ---------------------------------------------------------------


def test_discovery_lists_the_endpoint_in_both_formats(client: Client) -> None:
    # when
    as_json = client.get(f"{BASE}/discovery.json")
    as_xml = client.get(f"{BASE}/discovery.xml")
    # then
    assert as_json["Content-Type"] == "application/json; charset=utf-8"
    endpoint = as_json.json()["endpoints"][0]
    assert endpoint["specification"] == "https://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert endpoint["type"] == "production"
    assert as_xml["Content-Type"] == "text/xml; charset=utf-8"
    root = xml(as_xml)
    assert root.tag == "discovery"
    assert [child.tag for child in root] == ["changeset", "contact", "key_service", "endpoints"]
    formats = root.find("endpoints/endpoint/formats")
    assert formats is not None
    assert [f.text for f in formats.findall("format")] == ["text/xml", "application/json"]


def test_services_come_from_the_taxonomy_minor_categories(client: Client, cats: Cats) -> None:
    # when
    services = client.get(f"{BASE}/services.json").json()
    # then every service is a 小类 with its 大类 as group, in the specification's field order
    rubbish = next(s for s in services if s["service_code"] == cats.rubbish.code)
    assert list(rubbish) == SERVICE_FIELDS
    assert rubbish["service_name"] == "暴露垃圾"
    assert rubbish["group"] == "市容环境"
    assert rubbish["type"] == "realtime"
    assert rubbish["metadata"] is False
    assert "暴露垃圾" in rubbish["keywords"]
    assert all(s["service_code"] != cats.major_city.code for s in services)


def test_services_xml_has_one_service_element_per_category(client: Client, cats: Cats) -> None:
    # when
    response = client.get(f"{BASE}/services.xml")
    # then
    root = xml(response)
    assert root.tag == "services"
    first = root.find("service")
    assert first is not None
    assert [child.tag for child in first] == SERVICE_FIELDS
    assert first.findtext("metadata") in {"true", "false"}
    assert len(root.findall("service")) == len(client.get(f"{BASE}/services.json").json())


def test_service_definition_names_the_service_and_lists_attributes(client: Client, cats: Cats) -> None:
    # when
    as_json = client.get(f"{BASE}/services/{cats.rubbish.code}.json")
    as_xml = client.get(f"{BASE}/services/{cats.rubbish.code}.xml")
    # then
    assert as_json.json() == {"service_code": cats.rubbish.code, "attributes": []}
    root = xml(as_xml)
    assert root.tag == "service_definition"
    assert [child.tag for child in root] == ["service_code", "attributes"]


def test_unknown_service_is_404_in_the_error_format(client: Client, cats: Cats) -> None:
    # when
    as_json = client.get(f"{BASE}/services/nope.json")
    as_xml = client.get(f"{BASE}/services/nope.xml")
    # then
    assert as_json.status_code == 404
    assert as_json.json()[0]["code"] == 404
    assert set(as_json.json()[0]) == {"code", "description"}
    assert as_xml.status_code == 404
    root = xml(as_xml)
    assert root.tag == "errors"
    assert root.findtext("error/code") == "404"
    assert root.findtext("error/description")


def test_unknown_format_and_unknown_jurisdiction_are_404(client: Client, tree: Any) -> None:
    # when
    bad_format = client.get(f"{BASE}/services.csv")
    bad_place = client.get(f"{BASE}/services.json", {"jurisdiction_id": "nowhere"})
    good_place = client.get(f"{BASE}/services.json", {"jurisdiction_id": tree.street.code})
    # then
    assert bad_format.status_code == 404
    assert bad_format["Content-Type"] == "text/xml; charset=utf-8"
    assert bad_place.status_code == 404
    assert good_place.status_code == 200


# --- POST requests ------------------------------------------------------------------------


def test_post_request_opens_an_open311_case_after_commit(
    client: Client, cats: Cats, tree: Any, report_key: str,
) -> None:
    # when
    response = post_request(client, api_key=report_key, service_code=cats.rubbish.code,
                            lat=IN_A1[1], long=IN_A1[0], description="路口有一堆垃圾",
                            first_name="明", last_name="王", phone="13812345678")
    # then
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert list(body[0]) == ["service_request_id", "service_notice", "account_id"]
    case = Case.objects.get(number=body[0]["service_request_id"])
    assert case.source == CaseSource.OPEN311
    assert case.grid_id == tree.grid_a1.pk
    assert case.status == CaseStatus.REPORTED  # untrusted channel: a dispatcher registers it
    assert case.reporter_name == "王明"
    assert case.callback_phone_masked == "138****5678"


def test_post_request_in_xml_answers_in_xml(client: Client, cats: Cats, tree: Any, report_key: str) -> None:
    # when
    response = post_request(client, "xml", api_key=report_key, service_code=cats.rubbish.code,
                            address_string="望江路88号", description="垃圾")
    # then
    root = xml(response)
    assert root.tag == "service_requests"
    assert child_tags(root.find("request")) == ["service_request_id", "service_notice", "account_id"]


def test_api_key_in_the_query_string_is_accepted(client: Client, cats: Cats, tree: Any, report_key: str) -> None:
    # when
    response = client.post(f"{BASE}/requests.json?api_key={report_key}",
                           {"service_code": cats.rubbish.code, "lat": IN_A1[1], "long": IN_A1[0]})
    # then
    assert response.status_code == 200


def test_retried_post_returns_the_same_request(client: Client, cats: Cats, tree: Any, report_key: str) -> None:
    # given
    fields: dict[str, Any] = {"api_key": report_key, "service_code": cats.rubbish.code, "lat": IN_A1[1], "long": IN_A1[0],
              "description": "井边有垃圾", "device_id": "phone-1"}
    # when
    first = post_request(client, **fields).json()[0]["service_request_id"]
    second = post_request(client, **fields).json()[0]["service_request_id"]
    other_device = post_request(client, **{**fields, "device_id": "phone-2"}).json()[0]["service_request_id"]
    # then
    assert first == second
    assert other_device != first
    assert Case.objects.filter(source=CaseSource.OPEN311).count() == 2


@pytest.mark.parametrize("key", ["", "ll_bad_key", "unscoped"])
def test_post_without_a_valid_report_key_is_403(client: Client, cats: Cats, tree: Any, key: str) -> None:
    # given
    if key == "unscoped":
        key = make_key("view_registry")
    # when
    response = post_request(client, api_key=key, service_code=cats.rubbish.code, lat=IN_A1[1], long=IN_A1[0])
    # then
    assert response.status_code == 403
    assert response.json()[0]["code"] == 403
    assert not Case.objects.exists()


@pytest.mark.parametrize(("fields", "status"), [
    ({"lat": str(IN_A1[1]), "long": str(IN_A1[0])}, 400),                   # no service_code
    ({"service_code": "0101"}, 400),                                          # no location
    ({"service_code": "0101", "lat": "30.2"}, 400),                           # lat without long
    ({"service_code": "0101", "lat": "north", "long": "east"}, 400),          # not numbers
    ({"service_code": "0101", "address_id": "999999"}, 400),                  # unknown address_id
    ({"service_code": "0101", "address_string": "x", "description": "<b>hi</b>"}, 400),
    ({"service_code": "0101", "address_string": "x", "description": "长" * 4001}, 400),
    ({"service_code": "9999", "address_string": "x"}, 404),                   # unknown service
])
def test_bad_post_is_refused_and_writes_nothing(
    client: Client, cats: Cats, tree: Any, report_key: str, fields: dict[str, str], status: int,
) -> None:
    # when
    response = post_request(client, api_key=report_key, **fields)
    # then
    assert response.status_code == status
    assert response.json()[0]["description"]
    assert not Case.objects.exists()


# --- GET requests --------------------------------------------------------------------------


@pytest.fixture
def reported(client: Client, cats: Cats, tree: Any, report_key: str) -> str:
    response = post_request(client, api_key=report_key, service_code=cats.rubbish.code,
                            lat=30.2051234, long=120.2054321,
                            address_string="望江路88号3幢2单元502室",
                            description="楼下有垃圾,联系我13812345678")
    number: str = response.json()[0]["service_request_id"]
    return number


def test_request_detail_follows_the_specification_without_personal_data(client: Client, reported: str) -> None:
    # when
    row = client.get(f"{BASE}/requests/{reported}.json").json()[0]
    root = xml(client.get(f"{BASE}/requests/{reported}.xml"))
    # then
    assert list(row) == REQUEST_FIELDS
    assert row["status"] == "open"
    assert row["service_code"] == "0101"
    assert row["address"] == "望江路88号3幢"
    assert row["lat"] == 30.2051
    assert row["long"] == 120.2054
    assert "13812345678" not in json.dumps(row, ensure_ascii=False)
    assert "138****5678" in row["description"]
    assert row["requested_datetime"].endswith("+08:00")
    assert child_tags(root.find("request")) == REQUEST_FIELDS
    assert root.findtext("request/long") == "120.2054"


def test_unknown_request_is_404(client: Client, reported: str) -> None:
    assert client.get(f"{BASE}/requests/AJ-19990101-0001.json").status_code == 404


def test_request_list_is_an_array_even_for_one_item(client: Client, reported: str) -> None:
    # when
    as_json = client.get(f"{BASE}/requests.json").json()
    root = xml(client.get(f"{BASE}/requests.xml"))
    # then
    assert [r["service_request_id"] for r in as_json] == [reported]
    assert root.tag == "service_requests"
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [reported]


def test_request_list_filters_by_status_code_and_dates(client: Client, reported: str) -> None:
    # given
    today = timezone.localdate()
    # when
    open_ = client.get(f"{BASE}/requests.json", {"status": "open"}).json()
    closed = client.get(f"{BASE}/requests.json", {"status": "closed"}).json()
    other_code = client.get(f"{BASE}/requests.json", {"service_code": "0601"}).json()
    past = client.get(f"{BASE}/requests.json", {"start_date": "2010-01-01T00:00:00Z",
                                                 "end_date": "2010-02-01T00:00:00Z"}).json()
    by_id = client.get(f"{BASE}/requests.json", {"service_request_id": f"{reported},nope",
                                                  "status": "closed"}).json()
    window = client.get(f"{BASE}/requests.json", {"start_date": (today - timedelta(days=1)).isoformat()}).json()
    # then
    assert [r["service_request_id"] for r in open_] == [reported]
    assert closed == []
    assert other_code == []
    assert past == []
    assert [r["service_request_id"] for r in by_id] == [reported]  # ids override the other filters
    assert [r["service_request_id"] for r in window] == [reported]


@pytest.mark.parametrize("params", [
    {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},  # > 90 days
    {"start_date": "2026-02-01", "end_date": "2026-01-01"},                      # reversed
    {"start_date": "yesterday"},
    {"status": "pending"},
])
def test_bad_request_list_filters_are_400(client: Client, params: dict[str, str]) -> None:
    response = client.get(f"{BASE}/requests.json", params)
    assert response.status_code == 400
    assert response.json()[0]["code"] == 400


def test_default_window_is_the_last_90_days(client: Client, reported: str) -> None:
    # when it is 91 days later
    with time_machine.travel(timezone.now() + timedelta(days=91)):
        rows = client.get(f"{BASE}/requests.json").json()
    # then
    assert rows == []


def test_community_governance_cases_are_not_public(client: Client, open_case: Any, cats: Cats) -> None:
    # given a neighbours' dispute reported by a grid worker
    dispute = open_case(cats.neighbours)
    # when
    listed = client.get(f"{BASE}/requests.json").json()
    detail = client.get(f"{BASE}/requests/{dispute.number}.json")
    # then
    assert listed == []
    assert detail.status_code == 404


def test_tokens_resolve_only_tokens_we_issued(client: Client, reported: str) -> None:
    # given
    case = Case.objects.get(number=reported)
    token = case.source_key.removeprefix("o311:")
    # when
    known = client.get(f"{BASE}/tokens/{token}.json")
    unknown = client.get(f"{BASE}/tokens/deadbeef.xml")
    # then
    assert known.json() == [{"service_request_id": reported, "token": token}]
    assert unknown.status_code == 404
    assert xml(unknown).findtext("error/code") == "404"


def test_service_request_updates_list_status_changes(client: Client, reported: str) -> None:
    # when
    rows = client.get(f"{BASE}/servicerequestupdates.json").json()
    # then
    assert [r["service_request_id"] for r in rows] == [reported]
    assert list(rows[0]) == ["update_id", "service_request_id", "status", "updated_datetime",
                             "description", "media_url"]


def test_unknown_endpoint_is_404(client: Client) -> None:
    assert client.get(f"{BASE}/whatever").status_code == 404


# --- privacy helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "public"), [
    ("望江路88号3幢2单元502室", "望江路88号3幢"),
    ("近江小区12栋301", "近江小区12栋"),
    ("清泰街5号楼1单元", "清泰街5号楼"),
    ("望江路88号", "望江路88号"),
    ("望江路88号2单元301室", "望江路88号"),
])
def test_public_address_stops_at_the_building(address: str, public: str) -> None:
    assert public_address(address) == public


def test_public_text_masks_phones_and_id_numbers() -> None:
    text = public_text("电话13812345678,身份证330102199001011234")
    assert text == "电话138****5678,身份证3301**********1234"
