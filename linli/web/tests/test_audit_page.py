"""The audit page: who may open it, filters, and the chain check button."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.urls import reverse

from conftest import Users
from linli.core.actors import SystemActor
from linli.core.models import AuditEntry
from linli.core.services import audit_record_standalone
from linli.core.tests.guards import guards_lifted


def record(action: str, actor: str = "command:test") -> None:
    audit_record_standalone(actor=SystemActor(actor), action=action, target_type="test", target_id="1")


def test_auditor_sees_recent_entries(client: Client, users: Users) -> None:
    # given
    record("person.update")
    client.force_login(users.auditor)
    # when
    response = client.get(reverse("web:audit"))
    # then
    assert response.status_code == 200
    body = response.content.decode()
    assert "审计日志" in body
    assert "修改人员信息" in body
    assert 'data-testid="audit-verify"' in body


def test_district_admin_may_open_the_audit_page(client: Client, users: Users) -> None:
    # given
    client.force_login(users.district_admin)
    # when
    response = client.get(reverse("web:audit"))
    # then
    assert response.status_code == 200


def test_grid_worker_gets_403_on_the_audit_page(client: Client, users: Users) -> None:
    # given
    client.force_login(users.grid_worker_a1)
    # when
    response = client.get(reverse("web:audit"))
    # then
    assert response.status_code == 403
    assert "无权访问" in response.content.decode()


def test_filters_by_action_and_actor(client: Client, users: Users) -> None:
    # given
    record("person.update", actor="job:import")
    record("person.create", actor="job:import")
    record("person.update", actor="command:seed")
    client.force_login(users.auditor)
    # when
    response = client.get(reverse("web:audit"), {"action": "person.update", "actor": "import"})
    # then
    entries = list(response.context["page"].object_list)
    assert [(e.action, e.actor_label) for e in entries] == [("person.update", "job:import")]


def test_verify_button_reports_an_intact_chain(client: Client, users: Users) -> None:
    # given
    record("person.update")
    client.force_login(users.auditor)
    # when
    response = client.post(reverse("web:audit"))
    # then
    assert response.status_code == 200
    assert "校验通过" in response.content.decode()


def test_verify_button_reports_a_changed_entry(client: Client, users: Users) -> None:
    # given
    record("person.update")
    entry = AuditEntry.objects.get(action="person.update")
    # tamper behind the ORM's back, as an attacker with the tables' owner rights would
    with guards_lifted(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET reason = 'x' WHERE seq = %s", [entry.seq])
    client.force_login(users.auditor)
    # when
    response = client.post(reverse("web:audit"))
    # then
    body = response.content.decode()
    assert "发现 1 处问题" in body
    assert f"entry {entry.seq}" in body
