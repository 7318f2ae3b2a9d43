"""A resident's portal session is refused by every staff API endpoint (issue #15).

The operations are read from the OpenAPI document (every operation whose security names
the staff session), so an endpoint added later is covered without editing this test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from conftest import make_user
from linli.accounts.auth import RESIDENT_REFUSED
from linli.accounts.choices import Role
from linli.api import api

API = "/api/v1"
SCHEMA = api.get_openapi_schema(path_prefix="")


def _staff_operations() -> list[tuple[str, str]]:
    found = []
    for path, operations in SCHEMA["paths"].items():
        for method, operation in operations.items():
            if any("StaffSessionAuth" in scheme for scheme in operation.get("security", [])):
                found.append((method, path))
    return found


STAFF_OPERATIONS = _staff_operations()


def _call(client: Any, method: str, path: str) -> Any:
    url = API + re.sub(r"\{[^}]+\}", "1", path)
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, data={}, content_type="application/json")


def test_the_walk_finds_the_staff_api():
    # the lists and writes a resident must not reach, and none of the portal's own
    paths = {path for _m, path in STAFF_OPERATIONS}
    assert {"/persons", "/cases", "/households/{household_id}"} <= paths
    assert not any(path.startswith("/portal") for path in paths)
    assert len(STAFF_OPERATIONS) >= 45


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), STAFF_OPERATIONS, ids=[f"{m} {p}" for m, p in STAFF_OPERATIONS])
def test_a_resident_session_is_refused_by_every_staff_endpoint(tree, client, method, path):
    # given a signed-in resident (the portal's session cookie)
    client.force_login(make_user("res_api", Role.RESIDENT))
    # when the resident calls a staff endpoint
    response = _call(client, method, path)
    # then 403 with the error saying why, before any parameter is read
    assert response.status_code == 403, (method, path, response.status_code, response.content[:200])
    body = response.json()
    assert body["code"] == "permission_denied"
    assert body["message"] == RESIDENT_REFUSED


def test_only_the_reporters_loop_on_the_cases_api_welcomes_residents():
    # a resident reports a case, adds photos, follows and rates it through the cases API
    # (docs/api.md); every other staff operation refuses him, and this list cannot grow unseen
    welcome = {(method, path) for path, operations in SCHEMA["paths"].items()
               for method, operation in operations.items()
               if any("ReporterSessionAuth" in scheme for scheme in operation.get("security", []))}
    assert welcome == {("post", "/cases"), ("get", "/cases/categories"), ("get", "/cases/{case_id}"),
                       ("post", "/cases/{case_id}/transitions"), ("post", "/cases/{case_id}/photos"),
                       ("get", "/cases/{case_id}/photos/{photo_id}")}


@pytest.mark.django_db
def test_staff_and_the_portal_still_work(users, client):
    # a staff session still reads the staff API
    client.force_login(users.street)
    assert client.get(API + "/persons").status_code == 200
    # and a resident still reads the portal's own API (not refused as "staff only")
    client.force_login(make_user("res_portal", Role.RESIDENT))
    response = client.get(API + "/portal/applications")
    assert response.status_code != 403
    assert RESIDENT_REFUSED not in response.content.decode()


@pytest.mark.django_db
def test_an_anonymous_caller_is_still_told_to_sign_in(db, client):
    response = client.get(API + "/persons")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
