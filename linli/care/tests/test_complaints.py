"""A 12345 complaint by a cared-for person becomes a must-visit (read from cases by the
sweep: cases sits below care)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import Tree, Users
from linli.care.choices import CareEventKind, ItemStatus, VisitReason
from linli.care.models import CareEvent, DueVisit, SweepRun
from linli.care.services.sweep import sweep_run
from linli.care.tests.conftest import make_person
from linli.care.workflow import shift_years
from linli.cases.services import case_open
from linli.cases.tests.conftest import Cats, cats  # noqa: F401 -- the fixture
from linli.core import pii
from linli.notify.models import Notification
from linli.registry.text import PII_PHONE

pytestmark = pytest.mark.django_db


def _phone(number: str) -> dict[str, str]:
    return {"phone_bidx": pii.blind_index(number, field=PII_PHONE), "phone_masked": number[:3] + "****" + number[-4:]}


def test_a_hotline_complaint_by_an_elder_makes_a_must_visit_once(tree: Tree, users: Users, seeded: None,
                                                                 cats: Cats) -> None:  # noqa: F811
    today = timezone.localdate()
    elder = make_person(tree.grid_a1.pk, "钱阿婆", birth=shift_years(today, 84), hukou="local", **_phone("13912345678"))
    young = make_person(tree.grid_a1.pk, "孙强", birth=shift_years(today, 35), **_phone("13700001111"))
    # given the elder and a young man (no benefit, no colour) both call 12345
    for phone in ("139 1234 5678", "13700001111"):
        case_open(actor=users.street, source="hotline", category=cats.neighbours, description="楼上漏水",
                  address="望江路12号", lon=120.205, lat=30.205, reporter_name="来电人", callback_phone=phone)
    # and a patrol case is no 12345 complaint
    case_open(actor=users.grid_worker_a1, source="patrol", category=cats.neighbours, description="巡查",
              lon=120.205, lat=30.205)
    # when the sweep runs
    sweep_run(on=today)
    # then the elder has a complaint event and a must-visit due tomorrow; the young man nothing
    event = CareEvent.objects.get(person=elder)
    assert event.kind == CareEventKind.COMPLAINT
    assert event.source.startswith("cases.case:")
    due = DueVisit.objects.get(person=elder, reason_kind=VisitReason.TRIGGER)
    assert (due.status, due.due_on) == (ItemStatus.OPEN, today + timedelta(days=1))
    assert not CareEvent.objects.filter(person=young).exists()
    assert Notification.objects.filter(recipient=users.grid_worker_a1, event_type="care.must_visit").count() == 1
    # a second run of the day (forced), or the next day's with the same week, records nothing new
    SweepRun.objects.all().delete()
    sweep_run(on=today)
    sweep_run(on=today + timedelta(days=1))
    assert CareEvent.objects.count() == 1
    assert DueVisit.objects.filter(reason_kind=VisitReason.TRIGGER).count() == 1
