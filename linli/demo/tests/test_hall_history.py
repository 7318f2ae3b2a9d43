"""The demo's year of the service halls: applications across the months and statuses,
decided by the items' real rules, appointments served with a wait, statistics with data."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from typing import Any

import pytest

from linli.accounts.models import User
from linli.catalogue.choices import ApplicationStatus, AppointmentStatus, ItemKind
from linli.catalogue.data.items import SEED_ITEMS
from linli.catalogue.models import (
    Application,
    ApplicationEvent,
    Appointment,
    NumberSequence,
    ServiceItem,
)
from linli.catalogue.seed_items import catalogue_seed
from linli.catalogue.selectors import hall_statistics_for_user
from linli.catalogue.services import window_create
from linli.core.actors import SystemActor
from linli.demo.extras import WINDOW_HOURS
from linli.demo.hall_history import HallHistoryGenerator
from linli.demo.hall_seed import hall_inputs, seed_hall_history
from linli.demo.services import demo_seed
from linli.geo.choices import AreaLevel
from linli.geo.models import Area

pytestmark = pytest.mark.django_db
ACTOR = SystemActor("test:halls")
END = date(2026, 3, 31)


def _leaves(rule: dict[str, Any]) -> list[dict[str, Any]]:
    if "all" in rule or "any" in rule:
        return [leaf for child in rule.get("all", rule.get("any", [])) for leaf in _leaves(child)]
    return _leaves(rule["not"]) if "not" in rule else [rule]


@pytest.fixture
def street() -> None:
    """A small demo street with the catalogue and a window per community."""
    demo_seed(actor=ACTOR, residents=1500, seed=2026)
    catalogue_seed(actor=ACTOR)
    items = list(ServiceItem.objects.filter(active=True))
    for community in Area.objects.filter(level=AreaLevel.COMMUNITY).order_by("code"):
        window_create(actor=ACTOR, code=f"W{community.code}", name=f"{community.name}窗口", community=community,
                      opening_hours=WINDOW_HOURS, capacity_per_slot=3, items=items)


def test_a_year_of_applications_spans_the_months_and_every_status(street: None) -> None:
    # when a year of the halls is seeded
    report = seed_hall_history(actor=ACTOR, seed=2026, end=END, applications_per_day=10)
    # then applications were filed in every month of the year
    apps = Application.objects.select_related("item_version__item")
    assert report.applications == apps.count() > 1500
    months = Counter(a.submitted_at.strftime("%Y-%m") for a in apps if a.submitted_at)
    assert len(months) >= 12
    # and promised items sit at every stage, the recent ones still open
    promised = Counter(a.status for a in apps if a.item_version.item.kind == ItemKind.PROMISED)
    for status in (ApplicationStatus.PRE_REVIEW, ApplicationStatus.RETURNED, ApplicationStatus.FORWARDED,
                   ApplicationStatus.APPROVED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN):
        assert promised[status], status
    # and every instant item was decided at once by its rule, some refused with the rule's reason
    instant = [a for a in apps if a.item_version.item.kind == ItemKind.INSTANT]
    assert {a.status for a in instant} <= {ApplicationStatus.APPROVED, ApplicationStatus.REJECTED,
                                           ApplicationStatus.PRE_REVIEW, ApplicationStatus.FORWARDED}
    refused = [a for a in instant if a.status == ApplicationStatus.REJECTED]
    assert refused
    messages = {leaf["message"] for item in SEED_ITEMS if item.rule for leaf in _leaves(item.rule)}
    reasons = {part for a in refused for part in a.decision_reason.split("；")}
    assert "" not in reasons
    assert reasons <= messages
    assert ApplicationEvent.objects.filter(action="instant_decide").count() >= len(instant)
    # and a return for correction names what is missing
    returned = ApplicationEvent.objects.filter(action="return_for_correction")
    assert returned.exists()
    assert all(event.missing for event in returned)


def test_appointments_are_served_with_a_wait_and_the_statistics_have_data(street: None) -> None:
    # when
    seed_hall_history(actor=ACTOR, seed=2026, end=END, applications_per_day=10)
    stats = hall_statistics_for_user(user=User.objects.get(username="street"), start=date(2025, 4, 1), end=END)
    # then
    statuses = Counter(Appointment.objects.values_list("status", flat=True))
    assert statuses[AppointmentStatus.DONE] > statuses[AppointmentStatus.NO_SHOW] > 0
    assert statuses[AppointmentStatus.CANCELLED]
    assert stats.total > 1500
    assert stats.instant_approval_rate is not None
    assert 0.6 < stats.instant_approval_rate < 1.0
    assert stats.decided > 0
    assert stats.average_processing_days is not None
    assert stats.appointments > 0
    assert stats.average_wait_minutes is not None
    assert stats.by_hour
    assert len(stats.by_department) >= 8


def test_live_numbers_continue_after_the_history(street: None) -> None:
    # when
    seed_hall_history(actor=ACTOR, seed=2026, end=END, applications_per_day=10)
    # then every day's counter is at least the number of applications filed that day
    last = Application.objects.order_by("-submitted_at").first()
    assert last is not None
    day = last.number.split("-")[1]
    filed = Application.objects.filter(number__startswith=f"SQ-{day}-").count()
    assert NumberSequence.objects.get(key=f"application:{day}").value >= filed


def test_the_same_seed_writes_the_same_history_and_a_second_run_nothing(street: None) -> None:
    # given the inputs
    items, communities = hall_inputs()
    generator = HallHistoryGenerator(items=items, communities=communities, seed=7, per_day=10)

    def day_of(seed: int) -> list[tuple[str, str, int]]:
        from datetime import datetime

        from linli.core.calendar import SHANGHAI
        rows, _events = generator.applications(random.Random(f"{seed}:hall:2026-03-02"), date(2026, 3, 2),
                                               datetime(2026, 3, 31, 18, tzinfo=SHANGHAI), 1, 1, {})
        return [(r["item_version_id"], r["status"], r["applicant_id"]) for r in rows]

    # when / then
    assert day_of(7) == day_of(7)
    assert day_of(7) != day_of(8)
    first = seed_hall_history(actor=ACTOR, seed=2026, end=END, applications_per_day=2)
    again = seed_hall_history(actor=ACTOR, seed=2026, end=END, applications_per_day=2)
    assert not first.skipped
    assert again.skipped
    assert Application.objects.count() == first.applications
