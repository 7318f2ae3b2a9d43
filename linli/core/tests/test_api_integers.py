"""Integers out of range in any API parameter are a 422 naming the field, never a 500.

The operations and their integer parameters are read from the OpenAPI document, so an
endpoint added later is covered without editing this test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from linli.api import api

API = "/api/v1"
HUGE = str(2**64)  # beyond every 64-bit column and SQLite's integers


SCHEMA = api.get_openapi_schema(path_prefix="")


def _integer_parameters() -> list[tuple[str, str, str, str]]:
    """(method, path template, where, name) for every integer query/path parameter."""
    found = []
    for path, operations in SCHEMA["paths"].items():
        for method, operation in operations.items():
            for param in operation.get("parameters", []):
                kinds = {param["schema"].get("type")} | {s.get("type") for s in param["schema"].get("anyOf", [])}
                if "integer" in kinds:
                    found.append((method, path, param["in"], param["name"]))
    return found


def _required_query(method: str, path: str) -> dict[str, str]:
    """A harmless value for each required query parameter, so that the integer is the only fault."""
    params = SCHEMA["paths"][path][method].get("parameters", [])
    return {p["name"]: "x" for p in params if p["in"] == "query" and p.get("required")}


def _url(path: str, value: str) -> str:
    return API + re.sub(r"\{[^}]+\}", value, path)


PARAMETERS = _integer_parameters()


def test_the_walk_finds_the_known_list_parameters():
    names = {(path, name) for _m, path, _w, name in PARAMETERS}
    assert {("/cases", "offset"), ("/cases", "grid"), ("/cases", "assignee"), ("/persons", "offset")} <= names


def _resident() -> object:
    from linli.accounts.choices import Role
    from linli.accounts.models import User

    return User.objects.create_user(username="resident-integers", password=None, role=Role.RESIDENT,
                                    display_name="居民")


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "where", "name"), PARAMETERS,
                         ids=[f"{m} {p} {n}" for m, p, _w, n in PARAMETERS])
@pytest.mark.parametrize("value", [HUGE, "-9223372036854775809"])
def test_an_out_of_range_integer_is_refused_naming_the_field(users, client, method, path, where, name, value):
    # given a street user (sees the most; the residents' API: a resident), any operation with
    # an integer parameter
    client.force_login(_resident() if path.startswith("/portal/") else users.street)
    params = _required_query(method, path)
    if where == "path":
        url = _url(path.replace("{" + name + "}", value), "1")
    else:
        url, params[name] = _url(path, "1"), value
    # when
    call: Any = getattr(client, method)
    if method == "get":
        response = call(url, params)
    else:
        response = call(url + "?" + "&".join(f"{k}={v}" for k, v in params.items()), data={},
                        content_type="application/json")
    # then
    assert response.status_code == 422, (url, params, response.content[:300])
    assert response.json()["field"] == name


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "body", "field"), [
    ("/cases", {"category": "x", "description": "x", "level": 2**64}, "level"),
    ("/services/appointments", {"window_id": 2**64, "slot_start": "2026-01-05T09:00:00+08:00",
                                "name": "x", "phone": "x"}, "window_id"),
    ("/services/applications", {"item": "x", "community_id": -1}, "community_id"),
])
def test_an_out_of_range_integer_in_a_body_is_refused_naming_the_field(users, client, path, body, field):
    client.force_login(users.street)
    response = client.post(API + path, body, content_type="application/json")
    # applications parse their own (multipart or JSON) body and answer 400 for bad input
    assert response.status_code in {400, 422}, response.content[:300]
    assert response.json()["field"] == field
