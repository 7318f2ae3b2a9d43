"""Open311 against real clients over HTTP: the ``georeport`` library (reads, JSON and XML)
and a civicbot-style form POST with ``requests``."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from georeport import GeoReport  # type: ignore[import-untyped]  # no type hints shipped

from linli.accounts.models import Department
from linli.cases.models import Case, Category, DispatchRule
from linli.cases.taxonomy import taxonomy_load
from linli.cases.tests.conftest import IN_A1, Cats
from linli.cases.tests.test_open311 import make_key

# A transactional test flushes the seeded taxonomy (a data migration): the `cats` fixture
# and `_taxonomy` below load it again when it is missing.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _taxonomy(request: pytest.FixtureRequest) -> None:
    """The seeded catalogue, reloaded if a transactional test before us flushed it away."""
    request.getfixturevalue("db")
    if not Category.objects.exists():
        taxonomy_load(Department, Category, DispatchRule)


def civicbot_post(base: str, **fields: Any) -> requests.Response:
    """What civicbot-style reporters send: form-encoded fields with ``api_key`` in the body."""
    return requests.post(f"{base}/requests.json", data=fields, timeout=10)


def test_georeport_client_reads_services_and_requests_in_json_and_xml(
    live_server: Any, tree: Any, cats: Cats,
) -> None:
    # given a request posted the way civicbot does it
    base = f"{live_server.url}/open311/v2"
    key = make_key("cases.report")
    posted = civicbot_post(base, api_key=key, service_code=cats.rubbish.code, lat=IN_A1[1],
                           long=IN_A1[0], description="路边垃圾桶满了", device_id="bot-1")
    assert posted.status_code == 200
    number = posted.json()[0]["service_request_id"]
    assert Case.objects.filter(number=number).exists()

    for fmt in ("json", "xml"):
        client = GeoReport(base, output_format=fmt)
        # when
        services = client.get_service_list()
        definition = client.get_service_definition(cats.rubbish.code)
        listed = client.get_service_requests(service_code=cats.rubbish.code, status="open")
        one = client.get_service_request(number)
        # then
        assert any(s["service_code"] == cats.rubbish.code and s["group"] == "市容环境" for s in services)
        assert definition["service_code"] == cats.rubbish.code
        # xmltodict turns a single <request> into a dict: the server still sent one element
        rows = listed if isinstance(listed, list) else [listed]
        assert [r["service_request_id"] for r in rows] == [number]
        assert one["service_request_id"] == number
        assert one["status"] == "open"
        assert str(one["long"]).startswith("120.20")


def test_civicbot_style_post_with_a_bad_key_gets_403_json(
    live_server: Any, tree: Any, cats: Cats,
) -> None:
    # when
    response = civicbot_post(f"{live_server.url}/open311/v2", api_key="nope", service_code=cats.rubbish.code,
                             lat=IN_A1[1], long=IN_A1[0])
    # then
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()[0]["code"] == 403
