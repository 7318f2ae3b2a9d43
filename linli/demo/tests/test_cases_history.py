"""The demo's case history: realistic, deterministic, and its statistics consistent."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from conftest import Tree, Users
from linli.cases.choices import OPEN_STATUSES, CaseSource, CaseStatus, SupervisionLevel
from linli.cases.models import Case, CaseEvent, CaseNumberSequence
from linli.cases.rollups import rollup_rebuild
from linli.cases.stats import case_statistics_for_user
from linli.cases.stats_models import CaseRollup
from linli.core.actors import SystemActor
from linli.core.calendar import SHANGHAI
from linli.demo.case_inputs import history_inputs
from linli.demo.case_sources import CAMERA_CATEGORIES, COMPLAINTS, IOT_SENSORS
from linli.demo.cases_history import CaseHistoryGenerator, seed_case_history
from linli.registry.models import Building

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
    # (the supervision sweep at the end adds one event per open case it raised)
    assert report.events + report.supervised == CaseEvent.objects.count() > report.cases * 3
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


# --- issue 16: a history that reads like a real street's year --------------------------------


def _buildings(tree: Tree) -> None:
    """A few buildings per grid, with addresses as the demo street writes them."""
    for grid, compound, road in ((tree.grid_a1, "近江花园", "望江路"), (tree.grid_a2, "婺江新村", "秋涛路"),
                                 (tree.grid_b1, "钱塘小区", "海潮路")):
        for number in range(1, 6):
            Building.objects.create(grid=grid, compound=compound, name=f"{number}幢", lon=120.2, lat=30.2,
                                    address=f"杭州市上城区{road}{100 + number}号{compound}{number}幢")


def test_descriptions_are_varied_and_written_like_a_person(tree: Tree) -> None:
    # given a year of history at real buildings
    _buildings(tree)
    rows = _generate(2026, 12, 600)
    categories, _grids = history_inputs()
    name = {c.id: c.name for c in categories}
    grid_names = {tree.grid_a1.name, tree.grid_a2.name, tree.grid_b1.name}
    by_category: dict[int, set[str]] = {}
    for row in rows:
        by_category.setdefault(row["category_id"], set()).add(row["description"])
    # then no description is "grid name + category" or says it is demo data
    assert not [r for r in rows if any(r["description"] == g + name[r["category_id"]] for g in grid_names)]
    assert not [r for r in rows if "演示" in r["description"] or "演示" in r["address"]]
    # and every category seen at least 30 times has at least 8 different descriptions
    counts = Counter(r["category_id"] for r in rows)
    frequent = [c for c, n in counts.items() if n >= 30]
    assert len(frequent) >= 20
    assert {name[c]: len(by_category[c]) for c in frequent if len(by_category[c]) < 8} == {}
    # and a case in a compound names the compound and the building
    assert any("近江花园" in r["description"] and "幢" in r["address"] for r in rows)


def test_every_source_fits_its_category(tree: Tree) -> None:
    # given a year of history
    rows = _generate(2026, 12, 600)
    categories, _grids = history_inputs()
    code = {c.id: c.code for c in categories}
    # then sensors report only what sensors sense, cameras only what cameras see
    iot = {code[r["category_id"]] for r in rows if r["source"] == CaseSource.IOT}
    camera = {code[r["category_id"]] for r in rows if r["source"] == CaseSource.CAMERA}
    assert iot <= set(IOT_SENSORS)
    assert camera <= CAMERA_CATEGORIES
    assert "1504" not in iot  # 就业帮扶 is no sensor's business
    assert iot
    assert camera
    # and complaints come mostly by the hotline or from residents
    complaints = [r for r in rows if code[r["category_id"]] in COMPLAINTS]
    by_phone = sum(r["source"] in (CaseSource.HOTLINE, CaseSource.RESIDENT) for r in complaints)
    assert by_phone / len(complaints) > 0.5


def test_timeline_names_who_did_what_at_every_step(tree: Tree, users: Users) -> None:
    # given three months of history
    _buildings(tree)
    seed_case_history(actor=ACTOR, seed=5, months=3, cases_per_month=300, end=END)
    events = CaseEvent.objects.all()
    # then no step is labelled demo data, and every step names an actor
    assert not events.filter(actor_label__contains="演示").exists()
    assert not events.filter(actor_label="").exists()
    # and the handler reports what was done, the dispatcher says to whom
    reports = list(events.filter(action="report_back").values_list("note", flat=True))
    assert reports
    assert all(reports)
    assert len(set(reports)) > 30
    assert all(note.startswith("派遣至") for note in events.filter(action="dispatch").values_list("note", flat=True))
    # and the one who handled a case never verified it
    for case_id in Case.objects.filter(status__in=[CaseStatus.CLOSED, CaseStatus.EVALUATED]).values_list("pk", flat=True)[:200]:
        steps = {e.action: e.actor_label for e in events.filter(case_id=case_id)}
        handler = steps.get("report_back") or steps.get("handle_on_spot")
        assert handler != steps.get("verify_pass"), case_id


def test_late_cases_carry_their_cards_and_the_sweep_runs_over_the_open_ones(tree: Tree, users: Users) -> None:
    # given history up to today
    from django.utils import timezone
    report = seed_case_history(actor=ACTOR, seed=11, months=2, cases_per_month=600, end=timezone.localdate())
    # then closed cases that were late have yellow (and red) cards in their timeline
    cards = CaseEvent.objects.filter(action="supervise")
    assert cards.filter(data__to_level=SupervisionLevel.YELLOW).exists()
    assert cards.filter(data__to_level=SupervisionLevel.RED).exists()
    assert cards.filter(case__status__in=[CaseStatus.CLOSED, CaseStatus.EVALUATED]).exists()
    # and the real sweep raised the open overdue ones; none is left overdue without a card
    assert report.supervised > 0
    assert Case.objects.filter(supervision_level__gte=SupervisionLevel.YELLOW).count() >= report.supervised
    # (overdue as of the history's own "now", the day's 18:00: a case due later this evening
    # was not overdue when the sweep ran)
    overdue_open = Case.objects.filter(status__in=OPEN_STATUSES, stage_due_at__lt=report.now)
    assert not overdue_open.filter(supervision_level=SupervisionLevel.NONE).exists()
