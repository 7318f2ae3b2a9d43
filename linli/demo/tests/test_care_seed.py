"""The demo's proactive care: the pages open full, and a second seed adds nothing."""

import pytest

from linli.care.models import (
    Benefit,
    DueVisit,
    ElderLevel,
    Recommendation,
    ReviewItem,
    Visit,
    WorkOrder,
)
from linli.core.actors import SystemActor
from linli.demo.care_seed import seed_care_if_missing
from linli.demo.services import demo_seed

pytestmark = pytest.mark.django_db
ACTOR = SystemActor("test:demo")


def test_care_demo_has_benefits_colours_visits_and_due_work_once():
    demo_seed(actor=ACTOR, residents=600, seed=2026)
    report = seed_care_if_missing(actor=ACTOR, seed=2026)
    assert report.benefits > 0
    assert report.visits > 0
    assert ElderLevel.objects.filter(colour="yellow").exists()
    assert Visit.objects.filter(notes__contains="老人").exists()
    # months of visits before this one: the statistics' monthly chart has a history
    months = {v.astimezone().strftime("%Y-%m") for v in Visit.objects.values_list("visited_at", flat=True)}
    assert len(months) >= 5
    assert Recommendation.objects.exists()
    assert DueVisit.objects.filter(status="open").exists()
    assert WorkOrder.objects.exists() or ReviewItem.objects.exists()
    counts = (Benefit.objects.count(), Visit.objects.count())
    assert seed_care_if_missing(actor=ACTOR, seed=2026).skipped
    assert (Benefit.objects.count(), Visit.objects.count()) == counts
