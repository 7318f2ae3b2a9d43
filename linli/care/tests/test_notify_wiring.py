"""care → notify: an expiring benefit's work order, a must-visit and overdue visits reach the
grid's A角 worker through the inbox and the relay's channels, once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from conftest import Tree, Users
from linli.care.choices import BenefitSource, CareEventKind
from linli.care.models import Benefit, DueVisit, Policy, SweepRun
from linli.care.services import care_event_record
from linli.care.services.sweep import SWEEP_ACTOR, sweep_run
from linli.care.tests.conftest import ON, make_person
from linli.care.workflow import shift_years
from linli.notify import services as notify_services
from linli.notify.choices import Channel
from linli.notify.models import Delivery, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def reachable(users: Users) -> None:
    """The a1 worker has a phone: outside deliveries go by SMS."""
    notify_services.contact_address_set(user=users.grid_worker_a1, channel=Channel.SMS, address="13800138000")


def _told(users: Users, event_type: str) -> list[Notification]:
    return list(Notification.objects.filter(recipient=users.grid_worker_a1, event_type=event_type))


def test_an_expiring_benefit_reaches_the_worker_inbox_and_sms_once(tree: Tree, users: Users, seeded: None,
                                                                    reachable: None) -> None:
    person = make_person(tree.grid_a1.pk, birth=shift_years(ON, 40), hukou="local")
    Benefit.objects.create(person=person, policy=Policy.objects.get(code="dibao"), starts_on=date(2025, 7, 1),
                           ends_on=ON + timedelta(days=20), source=BenefitSource.MINZHENG_IMPORT)
    sweep_run(on=ON)
    [told] = _told(users, "care.work_orders")
    assert Delivery.objects.filter(notification=told, channel=Channel.SMS).count() == 1
    # another grid's worker is told nothing
    assert not Notification.objects.filter(recipient=users.grid_worker_b1, event_type="care.work_orders").exists()
    # a second sweep of the day, even forced, sends nothing new
    SweepRun.objects.all().delete()
    sweep_run(on=ON)
    assert len(_told(users, "care.work_orders")) == 1
    assert Delivery.objects.count() == 1


def test_a_must_visit_reaches_the_worker_once_without_naming_the_person(tree: Tree, users: Users, seeded: None,
                                                                         reachable: None) -> None:
    person = make_person(tree.grid_a1.pk, "赵桂芳", birth=shift_years(ON, 82))
    care_event_record(person=person, kind=CareEventKind.HOSPITALISATION, occurred_on=ON, actor=SWEEP_ACTOR)
    [told] = _told(users, "care.must_visit")
    due = DueVisit.objects.get(person=person, reason_kind="trigger")
    assert due.due_on.isoformat() in told.body
    assert "住院" in told.body
    assert "赵桂芳" not in told.body  # SMS leaves the intranet
    assert Delivery.objects.filter(notification=told, channel=Channel.SMS).count() == 1
    # a second event while the must-visit is open adds no notification
    care_event_record(person=person, kind=CareEventKind.BEREAVEMENT, occurred_on=ON, actor=SWEEP_ACTOR)
    assert len(_told(users, "care.must_visit")) == 1
    # an event that is no must-visit tells nobody
    other = make_person(tree.grid_a1.pk, birth=shift_years(ON, 75))
    care_event_record(person=other, kind=CareEventKind.FALL, occurred_on=ON, actor=SWEEP_ACTOR)
    assert len(_told(users, "care.must_visit")) == 1


def test_overdue_visits_are_counted_to_the_worker_once(tree: Tree, users: Users, seeded: None,
                                                       reachable: None) -> None:
    make_person(tree.grid_a1.pk, birth=shift_years(ON, 75))
    make_person(tree.grid_a1.pk, birth=shift_years(ON, 76))
    make_person(tree.grid_b1.pk, birth=shift_years(ON, 77))
    sweep_run(on=ON)
    assert _told(users, "care.visits_overdue") == []
    sweep_run(on=ON + timedelta(days=3))
    [told] = _told(users, "care.visits_overdue")
    assert "2" in told.body
    assert Delivery.objects.filter(notification=told, channel=Channel.SMS).count() == 1
    [other] = Notification.objects.filter(recipient=users.grid_worker_b1, event_type="care.visits_overdue")
    assert "1" in other.body
    # the next day flags nothing new: nothing new is sent
    sweep_run(on=ON + timedelta(days=4))
    SweepRun.objects.filter(on=ON + timedelta(days=3)).delete()
    sweep_run(on=ON + timedelta(days=3))
    assert len(_told(users, "care.visits_overdue")) == 1
