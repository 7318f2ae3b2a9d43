"""The callback phone of a case: masked everywhere, revealed in full only to a permitted
user with a reason, and the reveal audited without the number."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from conftest import Tree, Users
from linli.accounts.services import api_key_create
from linli.cases.models import Case
from linli.core.models import AuditEntry

API = "/api/v1"
PHONE = "13912345678"


@pytest.fixture
def phoned(open_case: Any) -> Case:
    case: Case = open_case(reporter_name="张先生", callback_phone=PHONE)
    return case


def _no_plain_phone_in_audit() -> None:
    # The chain hashes are random hex and may contain any digit run, so they are left out.
    for row in AuditEntry.objects.values():
        assert PHONE not in str({k: v for k, v in row.items() if k not in ("hash", "prev_hash")})


def test_api_reveal_with_permission_and_reason_returns_the_phone_and_audits_without_it(
    client: Client, users: Users, phoned: Case,
) -> None:
    # given a community staff member (may reveal) of the case's area
    client.force_login(users.community_a)
    # when they reveal with a reason
    response = client.post(f"{API}/cases/{phoned.pk}/reveal", data={"reason": "回访来电人核实情况"},
                           content_type="application/json")
    # then they get the number, and the audit says who, which case and why, not the number
    assert response.status_code == 200
    assert response.json() == {"value": PHONE}
    entry = AuditEntry.objects.get(action="case.reveal_phone")
    assert entry.target_id == str(phoned.pk)
    assert entry.fields == ["callback_phone"]
    assert entry.reason == "回访来电人核实情况"
    _no_plain_phone_in_audit()


def test_case_detail_shows_the_phone_masked(client: Client, users: Users, phoned: Case) -> None:
    client.force_login(users.community_a)
    body = client.get(f"{API}/cases/{phoned.pk}").json()
    assert body["callback_phone_masked"]
    assert PHONE not in str(body)


def test_api_reveal_without_permission_is_403_and_not_audited(client: Client, users: Users, phoned: Case) -> None:
    # given the grid worker (sees the case, may not reveal)
    client.force_login(users.grid_worker_a1)
    response = client.post(f"{API}/cases/{phoned.pk}/reveal", data={"reason": "回访来电人"},
                           content_type="application/json")
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action="case.reveal_phone").exists()


def test_api_reveal_needs_a_reason(client: Client, users: Users, phoned: Case) -> None:
    client.force_login(users.community_a)
    response = client.post(f"{API}/cases/{phoned.pk}/reveal", data={"reason": "看"},
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json()["field"] == "reason"
    assert not AuditEntry.objects.filter(action="case.reveal_phone").exists()


def test_api_reveal_of_another_areas_case_is_404(client: Client, users: Users, phoned: Case) -> None:
    client.force_login(users.community_b)
    response = client.post(f"{API}/cases/{phoned.pk}/reveal", data={"reason": "回访来电人"},
                           content_type="application/json")
    assert response.status_code == 404


def test_api_key_may_not_reveal(client: Client, users: Users, tree: Tree, phoned: Case) -> None:
    _key, secret = api_key_create(actor=users.district_admin, name="12345", scopes=["cases.report"],
                                  areas=[tree.district])
    response = client.post(f"{API}/cases/{phoned.pk}/reveal", data={"reason": "回访来电人"},
                           content_type="application/json", headers={"X-API-Key": secret})
    assert response.status_code == 403


def test_case_page_reveal_button_shows_the_phone_once(client: Client, users: Users, phoned: Case) -> None:
    client.force_login(users.community_a)
    url = f"/cases/{phoned.pk}/"
    # given the page shows the masked phone and a reveal form
    page = client.get(url).content.decode()
    assert PHONE not in page
    assert 'data-testid="reveal-form"' in page
    # when a reason is posted
    page = client.post(url, data={"reveal_reason": "回访来电人核实情况"}).content.decode()
    # then the full number is on this response, and audited
    assert PHONE in page
    assert AuditEntry.objects.filter(action="case.reveal_phone").count() == 1
    # and a reason too short is refused on the form
    page = client.post(url, data={"reveal_reason": "看"}).content.decode()
    assert PHONE not in page
    assert AuditEntry.objects.filter(action="case.reveal_phone").count() == 1


def test_case_page_has_no_reveal_form_without_permission(client: Client, users: Users, phoned: Case) -> None:
    client.force_login(users.grid_worker_a1)
    url = f"/cases/{phoned.pk}/"
    assert 'data-testid="reveal-form"' not in client.get(url).content.decode()
    assert client.post(url, data={"reveal_reason": "回访来电人核实情况"}).status_code == 403
