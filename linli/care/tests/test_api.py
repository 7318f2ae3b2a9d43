"""The care API under /api/v1/care/: a person's benefits, due visits, work orders, recording a
visit; scoped to the caller's grids (another area's user gets nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conftest import Tree, Users
from linli.accounts.models import User
from linli.care.choices import BenefitSource, ItemStatus, VisitReason, WorkOrderKind
from linli.care.models import Benefit, DueVisit, Policy, Visit, WorkOrder
from linli.care.tests.conftest import make_person
from linli.core.models import AuditEntry
from linli.registry.models import Person

API = "/api/v1/care"
pytestmark = pytest.mark.usefixtures("seeded")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@dataclass
class Elder:
    person: Person
    benefit: Benefit
    due: DueVisit
    order: WorkOrder


@pytest.fixture
def elder(tree: Tree) -> Elder:
    person = make_person(tree.grid_a1.pk, birth=date(1940, 3, 1), hukou="local")
    today = timezone.localdate()
    benefit = Benefit.objects.create(person=person, policy=Policy.objects.get(code="gaoling_80"),
                                     starts_on=date(2025, 1, 1), ends_on=today + timedelta(days=20),
                                     amount=Decimal("50"), source=BenefitSource.MINZHENG_IMPORT,
                                     source_ref="fusion.minzheng:7")
    due = DueVisit.objects.create(person=person, grid=tree.grid_a1, reason_kind=VisitReason.PLAN,
                                  reason="红色 每周走访", due_on=today - timedelta(days=1), overdue=True)
    order = WorkOrder.objects.create(person=person, benefit=benefit, kind=WorkOrderKind.BENEFIT_EXPIRY,
                                     grid=tree.grid_a1, reason="高龄津贴 20天后到期", due_on=today + timedelta(days=10))
    return Elder(person, benefit, due, order)


def test_the_grid_worker_reads_benefits_due_visits_and_work_orders(users: Users, elder: Elder) -> None:
    client = client_for(users.grid_worker_a1)
    # when the worker of the elder's grid asks for the elder's benefits
    response = client.get(f"{API}/persons/{elder.person.pk}/benefits")
    # then they come with their provenance, and the access is audited
    assert response.status_code == 200
    assert [(b["policy_code"], b["source"], b["source_ref"], b["amount"]) for b in response.json()] == [
        ("gaoling_80", "minzheng", "fusion.minzheng:7", "50.00")]
    assert AuditEntry.objects.filter(action="care.person.access", target_id=str(elder.person.pk)).exists()
    # and the due visits and open work orders of the grid
    due = client.get(f"{API}/due-visits").json()
    assert due["count"] == 1
    assert due["items"][0]["person_id"] == elder.person.pk
    assert due["items"][0]["overdue"] is True
    orders = client.get(f"{API}/work-orders").json()
    assert [(o["id"], o["policy_name"]) for o in orders["items"]] == [(elder.order.pk, "高龄津贴（80-89周岁）")]
    assert client.get(f"{API}/work-orders?status=done").json()["count"] == 0


def test_another_areas_user_gets_nothing(users: Users, elder: Elder) -> None:
    for user in (users.grid_worker_b1, users.community_b):
        client = client_for(user)
        assert client.get(f"{API}/persons/{elder.person.pk}/benefits").status_code == 404
        assert client.get(f"{API}/due-visits").json() == {"count": 0, "items": []}
        assert client.get(f"{API}/work-orders").json() == {"count": 0, "items": []}
        response = client.post(f"{API}/visits", {"person_id": elder.person.pk, "visited_at": timezone.now().isoformat()},
                               content_type="application/json")
        assert response.status_code == 404
    assert not Visit.objects.exists()


def test_recording_a_visit_closes_the_due_visit(users: Users, elder: Elder) -> None:
    client = client_for(users.grid_worker_a1)
    body: dict[str, Any] = {"person_id": elder.person.pk, "visited_at": timezone.now().isoformat(),
                            "findings": {"health": "stable"}, "notes": "精神好", "met": "本人"}
    # when the worker records the visit
    response = client.post(f"{API}/visits", body, content_type="application/json")
    # then it is stored and the due visit is done
    assert response.status_code == 201
    visit = Visit.objects.get(pk=response.json()["id"])
    assert visit.visitor_id == users.grid_worker_a1.pk
    assert visit.findings == {"health": "stable"}
    elder.due.refresh_from_db()
    assert elder.due.status == ItemStatus.DONE
    assert client.get(f"{API}/due-visits").json()["count"] == 0


def test_bad_visit_input_is_refused(users: Users, elder: Elder) -> None:
    client = client_for(users.grid_worker_a1)
    future = (timezone.now() + timedelta(days=2)).isoformat()
    for body in ({"person_id": elder.person.pk, "visited_at": future},
                 {"person_id": elder.person.pk, "visited_at": timezone.now().isoformat(), "lon": 500, "lat": 1},
                 {"person_id": elder.person.pk, "visited_at": timezone.now().isoformat(), "lon": 120.1}):
        assert client.post(f"{API}/visits", body, content_type="application/json").status_code in {400, 422}
    assert not Visit.objects.exists()
