"""The demo's case history: realistic, deterministic, and its statistics consistent."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from conftest import Tree, Users
from linli.cases.choices import CaseSource, CaseStatus
from linli.cases.models import Case, CaseEvent, CaseNumberSequence
from linli.cases.rollups import rollup_rebuild
from linli.cases.stats import case_statistics_for_user
from linli.cases.stats_models import CaseRollup
from linli.core.actors import SystemActor
from linli.core.calendar import SHANGHAI
from linli.demo.cases_history import CaseHistoryGenerator, history_inputs, seed_case_history

ACTOR = SystemActor("test:history")
END = date(2026, 3, 31)


def _generate(seed: int, months: int, per_month: int) -> list[dict[str, Any]]:
    categories, grids = history_inputs()
    generator = CaseHistoryGenerator(categories=categories, grids=grids, seed=seed, exact_deadlines=False,
                                     with_events=False)
    now = datetime(2026, 12, 31, 18, tzinfo=SHANGHAI)
    rows: list[dict[str, Any]] = []
    for batch in generator.months(end=date(2026, 12, 31), months=months, cases_per_month=per_month, now=now,
                                  first_case_id=1, first_event_id=1, numbers={}):
        rows.extend(batch.cases)
    return rows


def test_history_is_the_same_for_the_same_seed_and_differs_for_another(tree: Tree) -> None:
    # when the same seed is generated twice, and another seed once
    first, again, other = _generate(7, 2, 150), _generate(7, 2, 150), _generate(8, 2, 150)
    # then the same seed gives the same cases
    assert first == again
    assert [r["category_id"] for r in first] != [r["category_id"] for r in other]


def test_history_has_seasons_and_every_channel(tree: Tree) -> None:
    # given a year of history
    rows = _generate(2026, 12, 600)
    by_month: Counter[tuple[int, int]] = Counter((r["created_at"].month, r["category_id"]) for r in rows)
    categories, _grids = history_inputs()
    major = {c.id: c.major_code for c in categories}

    def share(months: tuple[int, ...], major_code: str) -> float:
        total = sum(n for (m, _c), n in by_month.items() if m in months)
        return sum(n for (m, c), n in by_month.items() if m in months and major[c] == major_code) / total

    # then 市容环境 weighs more in summer and 消防 more in winter
    assert share((7, 8), "01") > share((11, 12, 1), "01") * 1.2
    assert share((12, 1, 2), "13") > share((6, 7, 8), "13") * 1.5
    # and every channel appears, grid-worker patrols about half of all cases
    sources = Counter(r["source"] for r in rows)
    assert set(sources) == {s.value for s in CaseSource} - {CaseSource.OPEN311}
    assert 0.5 < sources[CaseSource.PATROL] / len(rows) < 0.6


def test_seeded_history_is_written_with_consistent_rollups(tree: Tree, users: Users) -> None:
    # when three months of history are seeded for the small tree
    report = seed_case_history(actor=ACTOR, seed=5, months=3, cases_per_month=300, end=END)
    # then cases and their timelines are there, with every outcome the demo should show
    cases = Case.objects.all()
    assert report.cases == cases.count() > 700
    assert report.events == CaseEvent.objects.count() > report.cases * 3
    statuses = Counter(cases.values_list("status", flat=True))
    assert statuses[CaseStatus.EVALUATED]
    assert statuses[CaseStatus.CLOSED]
    assert statuses[CaseStatus.CANCELLED]
    assert cases.filter(overdue_count__gt=0).exists()
    assert cases.filter(rework_count__gt=0).exists()
    assert cases.filter(handled_on_spot=True).exists()
    assert cases.filter(satisfaction__isnull=False).exists()
    # and the last days are still open (inboxes have work)
    assert cases.filter(status__in=[CaseStatus.DISPATCHED, CaseStatus.ACCEPTED, CaseStatus.HANDLED]).exists()
    # and the rollups equal a fresh rebuild
    before = sorted(CaseRollup.objects.values_list("day", "grid_id", "category_id", "source", "reported", "closed"))
    rollup_rebuild()
    assert sorted(CaseRollup.objects.values_list("day", "grid_id", "category_id", "source", "reported", "closed")) == before
    # and the street's statistics count every case
    table = case_statistics_for_user(user=users.street, group_by="month", start=date(2026, 1, 1), end=END)
    assert table.total is not None
    assert table.total.values["reported"] == report.cases
    # and case numbers continue after the history: the day's sequence is reserved
    last_day = cases.order_by("-created_at").first()
    assert last_day is not None
    day = last_day.created_at.astimezone(SHANGHAI).date()
    assert CaseNumberSequence.objects.get(day=day).last >= cases.filter(number__contains=f"{day:%Y%m%d}").count()


def test_seeding_twice_adds_nothing(tree: Tree) -> None:
    # given history seeded once
    seed_case_history(actor=ACTOR, seed=5, months=1, cases_per_month=50, end=END)
    count = Case.objects.count()
    # when seeded again with the same seed
    report = seed_case_history(actor=ACTOR, seed=5, months=1, cases_per_month=50, end=END)
    # then nothing is written
    assert report.skipped
    assert Case.objects.count() == count


@pytest.mark.parametrize("days_back", [0, 40])
def test_history_never_reaches_into_the_future(tree: Tree, days_back: int) -> None:
    # when history ends today (or some weeks ago)
    from django.utils import timezone
    end = timezone.localdate() - timedelta(days=days_back)
    seed_case_history(actor=ACTOR, seed=9, months=1, cases_per_month=60, end=end)
    # then no case was reported after the end
    latest = Case.objects.order_by("-created_at").values_list("created_at", flat=True).first()
    assert latest is not None
    assert latest.astimezone(SHANGHAI).date() <= end
