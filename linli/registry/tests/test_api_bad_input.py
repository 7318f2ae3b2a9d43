"""Bad input through the API: refused as ``{code, message, field}``, never a 500."""

from __future__ import annotations

import pytest

from linli.registry.tests.conftest import id_number

pytestmark = pytest.mark.django_db
API = "/api/v1"


def test_search_with_a_wrong_id_check_digit_names_the_query_field(registry, users, client):
    # given an 18-digit number whose last character is not its check character
    client.force_login(users.community_a)
    # when
    response = client.get(f"{API}/persons", {"q": "110105194912310021"})
    # then
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["field"]) == ("invalid", "q")
    assert "校验" in body["message"]


def test_search_with_an_impossible_birth_date_in_the_id_is_refused(registry, users, client):
    # given a number with 13th month (check character computed, so only the date is wrong)
    client.force_login(users.community_a)
    # when
    response = client.get(f"{API}/persons", {"q": id_number("11010519491331002")})
    # then
    assert response.status_code == 400
    assert response.json()["field"] == "q"


def test_malformed_path_and_query_numbers_name_the_field(registry, users, client):
    client.force_login(users.community_a)
    for path, params, field in (
        ("/persons/abc", {}, "person_id"),
        ("/buildings", {"grid": "1;drop"}, "grid"),
        ("/facilities", {"limit": "many"}, "limit"),
    ):
        # when
        response = client.get(API + path, params)
        # then
        assert response.status_code == 422, path
        body = response.json()
        assert (body["code"], body["field"]) == ("invalid", field), path


def test_reveal_with_an_unknown_field_is_refused_naming_it(registry, users, client):
    client.force_login(users.community_a)
    # when
    response = client.post(f"{API}/persons/{registry.wang.pk}/reveal",
                           {"field": "password", "reason": "核对身份信息"},
                           content_type="application/json")
    # then
    assert response.status_code == 422
    assert response.json()["field"] == "field"
