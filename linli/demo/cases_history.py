"""A year (or more) of realistic case history for the demo street, written in bulk.

Seasonal patterns: more 市容环境 and 园林绿化 in summer (heat, typhoons), more 消防 and
电动车充电 hazards in winter, rubbish around the Spring Festival, standing water in the plum
rains. Each case sits at a building of its grid and reads as a person wrote it
(:mod:`linli.demo.case_texts`); it comes in by a channel that fits its 小类
(:mod:`linli.demo.case_sources`: sensors report fires and leaks, cameras see stalls and
rubbish, the hotline carries complaints); every step of its timeline names who took it and
what they did. Most cases close on time, some late (with the yellow and red cards the
supervision sweep gave them), some are reassigned or reworked, residents rate some; the last
weeks are still open and the real supervision sweep runs over them, so inboxes and
supervision are alive.

Cases and their timelines go in with ``COPY``/``executemany`` (no per-row ORM), then the
statistics rollups are rebuilt from the case table in SQL, which keeps them consistent by
construction. Deterministic for a given seed and end date.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from linli.cases.choices import CaseAction, CaseSource, CaseStage, CaseStatus, SupervisionLevel
from linli.cases.disclosure import public_text
from linli.cases.models import Case, CaseEvent, CaseNumberSequence
from linli.cases.rollups import rollup_rebuild
from linli.cases.services import case_supervision_sweep
from linli.cases.taxonomy import GRID_WORKER_MAJORS
from linli.core.actors import Actor
from linli.core.calendar import SHANGHAI, deadline_in_working_days, deadline_in_working_hours
from linli.core.services import audit_record
from linli.demo import case_texts
from linli.demo.bulk import BulkWriter
from linli.demo.case_inputs import HistoryCategory, HistoryGrid, history_inputs
from linli.demo.case_sources import HANDED_OVER, IOT_SENSORS, source_weights
from linli.demo.case_texts import Place
from linli.geo.models import Area

Progress = Callable[[str], None]

DEFAULT_CASES_PER_MONTH: Final = 1500
SOURCE_KEY_PREFIX: Final = "demo-history"
COMMAND_CENTRE: Final = "街道指挥中心"
SUPERVISION_LABEL: Final = "督办(定时巡检)"
# The supervision sweep runs every few minutes: a yellow card comes within this of the deadline.
SWEEP_EVERY_MINUTES: Final = 15
RATED_SOURCES: Final = frozenset({CaseSource.HOTLINE, CaseSource.RESIDENT})
# Share of cases per 大类 (by code) in an ordinary month.
MAJOR_WEIGHTS: Final = {
    "01": 22, "02": 8, "03": 5, "04": 15, "05": 2, "06": 7, "07": 5, "08": 5, "09": 2,
    "11": 5, "12": 5, "13": 4, "14": 3, "15": 5, "16": 5, "17": 2,
}
# month → {大类: factor}
SEASONS: Final[dict[int, dict[str, float]]] = {
    1: {"13": 2.2, "12": 1.5, "05": 1.3}, 2: {"13": 2.0, "12": 1.4},
    3: {"08": 1.2}, 4: {"08": 1.3, "03": 1.2}, 5: {"03": 1.3},
    6: {"01": 1.4, "05": 2.5, "04": 1.2}, 7: {"01": 1.6, "08": 1.4, "05": 2.0, "04": 1.3},
    8: {"01": 1.6, "08": 1.5, "04": 1.3}, 9: {"01": 1.4, "08": 1.4},
    10: {"04": 1.1}, 11: {"13": 1.5, "12": 1.2}, 12: {"13": 2.0, "12": 1.5},
}
# Overall volume per month (summer busier, Spring Festival week quieter for staff reports).
MONTH_VOLUME: Final = {1: 0.9, 2: 0.85, 3: 0.95, 4: 1.0, 5: 1.05, 6: 1.15, 7: 1.2, 8: 1.2, 9: 1.1,
                       10: 1.0, 11: 0.95, 12: 0.95}
# Minor codes by season: rubbish around the Spring Festival, water in the plum rains, ice in January.
SPRING_FESTIVAL: Final = {
    2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17), 2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
}
FESTIVAL_RUBBISH: Final = ("0101", "0105", "0102")
PLUM_RAIN: Final = ("0504",)
WINTER_ICE: Final = ("0505",)
# Reports per hour of the day: daytime-heavy, some in the evening, few at night.
HOUR_CUM: Final[list[float]] = list(itertools.accumulate(
    [1.0, 1, 1, 1, 1, 2, 4, 8, 14, 16, 16, 14, 10, 13, 15, 15, 14, 12, 8, 6, 5, 4, 3, 2]))
PROACTIVE_ON_SPOT: Final = 0.22  # share of patrol cases the grid worker fixes there and then
STALLED: Final = 0.06  # share of dispatched cases whose handling stalls for days


@dataclass
class HistoryBatch:
    """One month of generated rows (dicts by column attname; events as tuples)."""

    month: date
    cases: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass
class HistoryReport:
    """What :func:`seed_case_history` wrote and how long it took."""

    cases: int = 0
    events: int = 0
    rollup_days: int = 0
    rollup_areas: int = 0
    # Open cases the supervision sweep gave a card at the end.
    supervised: int = 0
    # The history's "now" (the last day's 18:00 at the latest), at which the sweep ran.
    now: datetime | None = None
    seconds: float = 0.0
    skipped: bool = False
    timings: dict[str, float] = field(default_factory=dict)


def _months_back(end: date, months: int) -> list[date]:
    first = end.replace(day=1)
    out = []
    for back in range(months - 1, -1, -1):
        index = first.year * 12 + first.month - 1 - back
        out.append(date(index // 12, index % 12 + 1, 1))
    return out


def _weighted(rng: random.Random, items: list[Any], cumulative: list[float]) -> Any:
    return items[_bisect(cumulative, rng.random() * cumulative[-1])]


def _bisect(cumulative: list[float], x: float) -> int:
    lo, hi = 0, len(cumulative) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


class CaseHistoryGenerator:
    """Deterministic rows of case history; pure apart from the calendar look-ups."""

    def __init__(
        self, *, categories: list[HistoryCategory], grids: list[HistoryGrid], seed: int,
        number_prefix: str = "AJ", exact_deadlines: bool = True, with_events: bool = True,
    ) -> None:
        self.categories = categories
        self.grids = grids
        self.seed = seed
        self.prefix = number_prefix
        self.exact_deadlines = exact_deadlines
        self.with_events = with_events
        self.by_code = {c.code: c for c in categories}
        self.by_major: dict[str, list[HistoryCategory]] = {}
        for c in categories:
            self.by_major.setdefault(c.major_code, []).append(c)
        self.majors = sorted(self.by_major)
        self.sources: dict[str, tuple[list[str], list[float]]] = {}
        for c in categories:
            weights = source_weights(c.code)
            self.sources[c.code] = (list(weights), _cumulative(list(weights.values())))
        # Busier grids get more cases (street-facing grids more than quiet courtyards).
        rng = random.Random(f"{seed}:grids")
        self.grid_cum = _cumulative([rng.uniform(0.5, 1.8) for _ in grids])
        self._season_cum: dict[int, list[float]] = {}

    def _due(self, start: datetime, c: HistoryCategory) -> datetime:
        if not self.exact_deadlines:
            hours = c.handle_amount * (1 if c.handle_unit == "hours" else 24) * 1.4
            return start + timedelta(hours=hours)
        if c.handle_unit == "hours":
            return deadline_in_working_hours(start, c.handle_amount)
        return deadline_in_working_days(start, c.handle_amount)

    def _category(self, rng: random.Random, moment: datetime) -> HistoryCategory:
        local = moment.astimezone(SHANGHAI).date()
        festival = SPRING_FESTIVAL.get(local.year)
        if festival is not None and abs((local - festival).days) <= 10 and rng.random() < 0.3:
            return self.by_code.get(rng.choice(FESTIVAL_RUBBISH)) or self._any(rng, local.month)
        if local.month in (6, 7) and rng.random() < 0.03 and PLUM_RAIN[0] in self.by_code:
            return self.by_code[PLUM_RAIN[0]]
        if local.month == 1 and rng.random() < 0.01 and WINTER_ICE[0] in self.by_code:
            return self.by_code[WINTER_ICE[0]]
        return self._any(rng, local.month)

    def _any(self, rng: random.Random, month: int) -> HistoryCategory:
        cumulative = self._season_cum.get(month)
        if cumulative is None:
            season = SEASONS.get(month, {})
            cumulative = self._season_cum[month] = _cumulative(
                [MAJOR_WEIGHTS.get(m, 2) * season.get(m, 1.0) for m in self.majors])
        major = _weighted(rng, self.majors, cumulative)
        return rng.choice(self.by_major[major])

    def months(self, *, end: date, months: int, cases_per_month: int, now: datetime,
               first_case_id: int, first_event_id: int, numbers: dict[date, int]) -> Iterator[HistoryBatch]:
        """One batch per month, oldest first. ``numbers`` holds the last number used per
        day and is advanced in place."""
        case_id, event_id = first_case_id, first_event_id
        serial = 0
        for month in _months_back(end, months):
            rng = random.Random(f"{self.seed}:{month.isoformat()}")
            batch = HistoryBatch(month=month)
            next_month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
            last_day = min(end, next_month - timedelta(days=1))
            days = (last_day - month).days + 1
            full = (next_month - month).days
            count = round(cases_per_month * MONTH_VOLUME[month.month] * days / full * rng.uniform(0.93, 1.07))
            moments = sorted(self._moment(rng, month, days) for _ in range(count))
            for moment in moments:
                if moment > now:
                    continue
                serial += 1
                row, events = self._case(rng, case_id, moment, now, numbers, serial)
                batch.cases.append(row)
                if self.with_events:
                    for e in events:
                        batch.events.append((event_id, case_id, *e))
                        event_id += 1
                case_id += 1
            yield batch

    @staticmethod
    def _moment(rng: random.Random, month: date, days: int) -> datetime:
        day = month + timedelta(days=rng.randrange(days))
        hour = _bisect(HOUR_CUM, rng.random() * HOUR_CUM[-1])
        return datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=SHANGHAI)

    def _case(self, rng: random.Random, case_id: int, t0: datetime, now: datetime, numbers: dict[date, int],
              serial: int) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
        grid = self.grids[_bisect(self.grid_cum, rng.random() * self.grid_cum[-1])]
        c = self._category(rng, t0)
        names, cumulative = self.sources[c.code]
        source = _weighted(rng, names, cumulative)
        local_day = t0.astimezone(SHANGHAI).date()
        numbers[local_day] = numbers.get(local_day, 0) + 1
        place = rng.choice(grid.places) if grid.places else Place(grid.name, "", "", "", grid.lon, grid.lat)
        description, address = case_texts.describe(c.code, rng, place)
        lon = place.lon if place.lon is not None else grid.lon
        lat = place.lat if place.lat is not None else grid.lat
        reporter = case_texts.reporter_name(rng) if source in RATED_SOURCES else ""
        row: dict[str, Any] = {
            "id": case_id, "created_at": t0, "number": f"{self.prefix}-{local_day:%Y%m%d}-{numbers[local_day]:04d}",
            "source": source, "source_key": f"{SOURCE_KEY_PREFIX}:{self.seed}:{serial}", "category_id": c.id,
            "level": c.level, "description": description or c.name, "address": address or grid.name,
            # As if staff had published the text (it names no one): the demo's Open311 feed reads.
            "public_description": public_text(description or c.name),
            # About thirty metres around the building (or the grid's centre without one).
            "lon": None if lon is None else lon + rng.uniform(-0.0003, 0.0003),
            "lat": None if lat is None else lat + rng.uniform(-0.0003, 0.0003),
            "grid_id": grid.id, "reporter_name": reporter,
            "status": CaseStatus.REPORTED, "stage": CaseStage.REGISTER,
            "stage_started_at": t0, "stage_due_at": t0 + timedelta(hours=1),
        }
        story = _Story(row, now, rng)
        story.record("open", CaseStatus.REPORTED, t0, *self._opener(rng, source, c, grid, reporter))
        return self._unfold(story, rng, c, grid, place, t0, reporter), story.events

    @staticmethod
    def _opener(rng: random.Random, source: str, c: HistoryCategory, grid: HistoryGrid,
                reporter: str) -> tuple[int | None, str, str]:
        """Who opened the case (actor id, label) and what they noted."""
        if source == CaseSource.PATROL:
            return grid.worker_id, grid.worker_name or "网格员", "巡查发现"
        if source == CaseSource.HOTLINE:
            return None, "12345热线", f"来电人{reporter}反映，工单号 {rng.randint(10**9, 10**10 - 1)}"
        if source == CaseSource.RESIDENT:
            return None, reporter or "居民", "居民通过“邻里”小程序上报"
        if source == CaseSource.IOT:
            sensor = IOT_SENSORS.get(c.code, "物联感知设备")
            return None, f"物联感知平台（{sensor}）", f"设备告警：{c.name}，设备编号 IOT-{rng.randint(10000, 99999)}"
        if source == CaseSource.CAMERA:
            return None, "视频AI识别", f"AI识别：{c.name}，置信度 {rng.uniform(0.82, 0.99):.2f}"
        if source == CaseSource.DEPARTMENT:
            return None, HANDED_OVER.get(c.code, c.department_name or "职能部门"), "部门移交"
        return None, "社区工作人员", "社区走访发现"

    def _unfold(self, story: _Story, rng: random.Random, c: HistoryCategory, grid: HistoryGrid, place: Place,
                t0: datetime, reporter: str) -> dict[str, Any]:
        """The case's steps from registration to evaluation, as far as they happened before now."""
        row = story.row
        worker = (grid.worker_id, grid.worker_name or "网格员")
        to_worker = c.major_code in GRID_WORKER_MAJORS
        handler = worker if to_worker else (None, c.department_name or "责任部门")
        # The handler never verifies their own work: the grid worker checks a department's
        # work, the command centre a grid worker's.
        verifier = (None, COMMAND_CENTRE) if to_worker else worker
        centre = (None, COMMAND_CENTRE)
        roll = rng.random()
        if roll < 0.03:
            story.step(CaseAction.CANCEL, CaseStatus.CANCELLED, t0 + timedelta(minutes=rng.randint(10, 90)),
                       centre, rng.choice(case_texts.CANCEL_NOTES))
            return self._finish(row, story.status)
        if roll < 0.04 and row["id"] > 1:
            if story.step(CaseAction.MERGE, CaseStatus.MERGED, t0 + timedelta(minutes=rng.randint(10, 90)), centre,
                          case_texts.MERGE_NOTES[0], {"into_id": row["id"] - 1}):
                row["merged_into_id"] = row["id"] - 1
            return self._finish(row, story.status)
        if row["source"] == CaseSource.PATROL and c.level >= 3 and rng.random() < PROACTIVE_ON_SPOT:
            handled = t0 + timedelta(minutes=rng.randint(10, 45))
            if story.step(CaseAction.HANDLE_ON_SPOT, CaseStatus.HANDLED, handled, worker,
                          "现场处置：" + case_texts.handled(c.code, rng, place)):
                row.update(registered_at=t0, handled_at=handled, handled_on_spot=True, assignee_id=grid.worker_id)
                closed = handled + timedelta(minutes=rng.randint(2, 30))
                if story.step(CaseAction.VERIFY_PASS, CaseStatus.VERIFIED, closed, centre,
                              rng.choice(case_texts.VERIFY_NOTES)) and story.step(
                        CaseAction.CLOSE, CaseStatus.CLOSED, closed, centre, rng.choice(case_texts.CLOSE_NOTES)):
                    row.update(verified_at=closed, closed_at=closed)
            return self._finish(row, story.status)
        registered = t0 + timedelta(minutes=rng.randint(3, 50))
        if not story.step(CaseAction.REGISTER, CaseStatus.REGISTERED, registered, centre, "已立案"):
            return self._finish(row, story.status)
        row["registered_at"] = registered
        dispatched = registered + timedelta(minutes=rng.randint(3, 60))
        if not story.step(CaseAction.DISPATCH, CaseStatus.DISPATCHED, dispatched, centre,
                          f"派遣至{handler[1]}：{rng.choice(case_texts.DISPATCH_NOTES)}"):
            return self._finish(row, story.status)
        row.update(dispatched_at=dispatched, department_id=None if to_worker else c.department_id,
                   assignee_id=grid.worker_id if to_worker else None)
        if rng.random() < 0.06:
            # Sent to the wrong department or worker first: reassigned an hour or two later.
            dispatched += timedelta(minutes=rng.randint(30, 180))
            if not story.step(CaseAction.REASSIGN, CaseStatus.DISPATCHED, dispatched, centre,
                              rng.choice(case_texts.REASSIGN_NOTES)):
                return self._finish(row, story.status)
            row["dispatched_at"] = dispatched
        due = self._due(dispatched, c)
        row["due_at"] = due
        accepted = dispatched + timedelta(minutes=rng.randint(5, 120))
        if not story.step(CaseAction.ACCEPT, CaseStatus.ACCEPTED, accepted, handler, rng.choice(case_texts.ACCEPT_NOTES)):
            return self._open(story, due)
        row["accepted_at"] = accepted
        span = max((due - dispatched).total_seconds(), 3600.0)
        # Most within the time limit, a tail beyond it (lognormal share of the allowed time),
        # and some that stall (a tenant not at home, a part to order, an owner who refuses).
        handled = dispatched + timedelta(seconds=span * math.exp(rng.gauss(-0.9, 0.6)))
        if rng.random() < STALLED:
            handled = max(handled, due) + timedelta(days=rng.uniform(0.5, 20))
        story.cards(due, timedelta(seconds=span), until=min(handled, story.now), accepted=accepted)
        if not story.step(CaseAction.REPORT_BACK, CaseStatus.HANDLED, handled, handler,
                          case_texts.handled(c.code, rng, place)):
            return self._open(story, due)
        row["handled_at"] = handled
        if handled > due:
            row["overdue_count"] = 1
        verified = handled + timedelta(minutes=rng.randint(20, 360))
        if rng.random() < 0.05:
            # Verification failed: handled again.
            if not story.step(CaseAction.VERIFY_FAIL, CaseStatus.DISPATCHED, verified, verifier,
                              rng.choice(case_texts.REWORK_NOTES)):
                return self._open(story, due, status=CaseStatus.HANDLED)
            row["rework_count"] = 1
            again = verified + timedelta(hours=rng.uniform(2, 30))
            if not (story.step(CaseAction.ACCEPT, CaseStatus.ACCEPTED, verified + timedelta(minutes=30), handler,
                               rng.choice(case_texts.ACCEPT_NOTES))
                    and story.step(CaseAction.REPORT_BACK, CaseStatus.HANDLED, again, handler,
                                   "重新处置：" + case_texts.handled(c.code, rng, place))):
                row["handled_at"] = None
                return self._open(story, due)
            row["handled_at"] = again
            if again > due:
                row["overdue_count"] = 1
            verified = again + timedelta(minutes=rng.randint(20, 240))
        if not story.step(CaseAction.VERIFY_PASS, CaseStatus.VERIFIED, verified, verifier,
                          rng.choice(case_texts.VERIFY_NOTES)):
            return self._open(story, due)
        row["verified_at"] = verified
        closed = verified + timedelta(minutes=rng.randint(10, 180))
        if not story.step(CaseAction.CLOSE, CaseStatus.CLOSED, closed, centre, rng.choice(case_texts.CLOSE_NOTES)):
            return self._open(story, due)
        row["closed_at"] = closed
        # Residents who reported (by phone or the app) are asked to rate; most do.
        if row["source"] in RATED_SOURCES and rng.random() < 0.75:
            rated = closed + timedelta(hours=rng.uniform(1, 48))
            score = rng.choices([5, 4, 3, 2, 1], weights=[62, 24, 8, 4, 2])[0]
            rater = "12345回访" if row["source"] == CaseSource.HOTLINE else reporter or "居民"
            if story.step(CaseAction.EVALUATE, CaseStatus.EVALUATED, rated, (None, rater),
                          rng.choice(case_texts.EVALUATE_NOTES[score]), {"satisfaction": score}):
                row.update(satisfaction=score, evaluated_at=rated)
        return self._finish(row, story.status)

    @staticmethod
    def _finish(row: dict[str, Any], status: str) -> dict[str, Any]:
        if status in (CaseStatus.CLOSED, CaseStatus.EVALUATED, CaseStatus.CANCELLED, CaseStatus.MERGED):
            row.update(stage=CaseStage.NONE, stage_started_at=None, stage_due_at=None)
        elif status == CaseStatus.REGISTERED:
            row.update(stage=CaseStage.DISPATCH, stage_started_at=row["registered_at"],
                       stage_due_at=row["registered_at"] + timedelta(hours=1))
        return row

    @staticmethod
    def _open(story: _Story, due: datetime, *, status: str | None = None) -> dict[str, Any]:
        """A case still being handled: the handling or verifying clock runs. Its cards are
        left to the real supervision sweep that :func:`seed_case_history` runs at the end."""
        row = story.row
        if (status or story.status) in (CaseStatus.DISPATCHED, CaseStatus.ACCEPTED):
            row.update(stage=CaseStage.HANDLE, stage_started_at=row["dispatched_at"], stage_due_at=due)
        else:
            row.update(stage=CaseStage.VERIFY, stage_started_at=row.get("handled_at"),
                       stage_due_at=(row.get("handled_at") or story.now) + timedelta(hours=4))
        return row


StepActor = tuple[int | None, str]


class _Story:
    """One case's row and timeline while it is generated: (action, from, to, at, actor id,
    actor label, note, data) per step, kept in time order."""

    def __init__(self, row: dict[str, Any], now: datetime, rng: random.Random) -> None:
        self.row = row
        self.now = now
        self.rng = rng
        self.status: str = CaseStatus.REPORTED
        self.events: list[tuple[Any, ...]] = []

    def record(self, action: str, to: str, at: datetime, actor_id: int | None, label: str, note: str,
               data: dict[str, Any] | None = None, *, from_status: str | None = None) -> None:
        self.events.append((action, self.status if from_status is None else from_status, to, at, actor_id,
                            label[:150], note, data or {}))

    def step(self, action: str, to: str, at: datetime, actor: StepActor, note: str = "",
             data: dict[str, Any] | None = None) -> bool:
        """Record a transition if it happened before now."""
        if at > self.now:
            return False
        self.record(action, to, at, actor[0], actor[1], note, data)
        self.status = to
        self.row["status"] = to
        self.row["updated_at"] = at
        return True

    def cards(self, due: datetime, length: timedelta, *, until: datetime, accepted: datetime) -> None:
        """The supervision cards a late case got while it was being handled: yellow once
        overdue, red at half the stage length over, escalated at the whole (as
        ``workflow.supervision_level_for`` grades them), each within one sweep interval."""
        level = SupervisionLevel.NONE
        for share, to_level in ((0.0, SupervisionLevel.YELLOW), (0.5, SupervisionLevel.RED),
                                (1.0, SupervisionLevel.ESCALATED)):
            at = due + length * share + timedelta(minutes=self.rng.uniform(1, SWEEP_EVERY_MINUTES))
            if at >= until:
                break
            status = CaseStatus.ACCEPTED if accepted <= at else CaseStatus.DISPATCHED
            self.events.append(("supervise", status, status, at, None, SUPERVISION_LABEL,
                                str(to_level.label), {"from_level": int(level), "to_level": int(to_level)}))
            level = to_level
        self.events.sort(key=lambda event: event[3])


_CASE_FIELDS: Final = list(Case._meta.concrete_fields)


def _case_tuples(rows: list[dict[str, Any]], writer: BulkWriter) -> Iterator[tuple[Any, ...]]:
    adapt = writer.datetime_adapter()
    defaults = {f.attname: f.get_default() for f in _CASE_FIELDS}
    datetime_fields = {f.attname for f in _CASE_FIELDS if f.get_internal_type() == "DateTimeField"}
    # Raw executemany and COPY take JSON as text, not as Python containers.
    json_fields = {f.attname for f in _CASE_FIELDS if f.get_internal_type() == "JSONField"}
    for row in rows:
        row.setdefault("updated_at", row["created_at"])
        values = []
        for f in _CASE_FIELDS:
            value = row.get(f.attname, defaults[f.attname])
            if adapt is not None and f.attname in datetime_fields and value is not None:
                value = adapt(value)
            elif f.attname in json_fields:
                value = json.dumps(value, ensure_ascii=False)
            values.append(value)
        yield tuple(values)


def _event_tuples(events: list[tuple[Any, ...]], writer: BulkWriter) -> Iterator[tuple[Any, ...]]:
    adapt = writer.datetime_adapter()
    for event_id, case_id, action, from_status, to_status, at, actor_id, label, note, data in events:
        yield (event_id, case_id, action, from_status, to_status, actor_id, label, note,
               json.dumps(data) if data else "{}", adapt(at) if adapt else at)


EVENT_FIELDS: Final = ("id", "case", "action", "from_status", "to_status", "actor", "actor_label", "note", "data", "at")


def write_history_batch(writer: BulkWriter, batch: HistoryBatch) -> None:
    """Insert one month's cases and events (inside the caller's transaction)."""
    writer.insert(Case, [f.name for f in _CASE_FIELDS], _case_tuples(batch.cases, writer))
    if batch.events:
        writer.insert(CaseEvent, EVENT_FIELDS, _event_tuples(batch.events, writer))


def _reserve_numbers(numbers: dict[date, int]) -> None:
    table = CaseNumberSequence._meta.db_table
    with connection.cursor() as cursor:
        for day, last in sorted(numbers.items()):
            cursor.execute(
                f"INSERT INTO {table} (day, last) VALUES (%s, %s) ON CONFLICT (day) "  # noqa: S608 -- model table name
                f"DO UPDATE SET last = CASE WHEN {table}.last > excluded.last THEN {table}.last ELSE excluded.last END",
                [day, last],
            )


def history_present(*, seed: int) -> bool:
    return Case.objects.filter(source_key__startswith=f"{SOURCE_KEY_PREFIX}:{seed}:").exists()


def seed_case_history(
    *, actor: Actor, seed: int, months: int = 12, cases_per_month: int = DEFAULT_CASES_PER_MONTH,
    end: date | None = None, area: Area | None = None, progress: Progress | None = None,
) -> HistoryReport:
    """Write ``months`` months of cases up to ``end`` (today by default) in ``area``'s grids.

    Skips (``report.skipped``) when this seed's history is already there, so ``linli demo``
    can call it every time. Deterministic for the same seed, end date and area tree.
    """
    report = HistoryReport()
    started = time.perf_counter()
    if history_present(seed=seed):
        report.skipped = True
        return report
    categories, grids = history_inputs(area=area)
    if not categories or not grids:
        report.skipped = True
        return report
    today = timezone.localdate()
    end = end or today
    # The history stops at the present; for an end date in the past, at that evening.
    now = min(timezone.now(), datetime(end.year, end.month, end.day, 18, 0, tzinfo=SHANGHAI))
    generator = CaseHistoryGenerator(
        categories=categories, grids=grids, seed=seed,
        number_prefix=getattr(settings, "LINLI_CASE_NUMBER_PREFIX", "AJ"),
    )
    first_month = _months_back(end, months)[0]
    numbers = dict(CaseNumberSequence.objects.filter(day__gte=first_month, day__lte=end).values_list("day", "last"))
    first_case = int(Case.objects.aggregate(top=Max("id"))["top"] or 0) + 1
    first_event = int(CaseEvent.objects.aggregate(top=Max("id"))["top"] or 0) + 1
    writer = BulkWriter(now=timezone.now())
    say = progress or (lambda _message: None)
    for batch in generator.months(end=end, months=months, cases_per_month=cases_per_month, now=now,
                                  first_case_id=first_case, first_event_id=first_event, numbers=numbers):
        generated = time.perf_counter()
        with transaction.atomic():
            write_history_batch(writer, batch)
        report.timings["write"] = report.timings.get("write", 0.0) + time.perf_counter() - generated
        report.cases += len(batch.cases)
        report.events += len(batch.events)
        say(f"cases {batch.month:%Y-%m}: {len(batch.cases):,}")
    with transaction.atomic():
        _reserve_numbers(numbers)
        writer.reset_sequences([Case, CaseEvent])
    # The cases still open get their cards from the real sweep (its events, audit entries
    # and notices), as they would on the morning the demo starts.
    swept = time.perf_counter()
    report.supervised = case_supervision_sweep(now=now)
    report.now = now
    report.timings["supervision"] = time.perf_counter() - swept
    with transaction.atomic():
        rebuilt = time.perf_counter()
        report.rollup_days, report.rollup_areas = rollup_rebuild(since=first_month)
        report.timings["rollups"] = time.perf_counter() - rebuilt
        audit_record(actor=actor, action="demo.case_history", target_type="cases.case",
                     fields=["cases.case", "cases.caseevent", "cases.caserollup"],
                     reason=f"seed={seed} months={months} cases={report.cases}")
    report.seconds = time.perf_counter() - started
    report.timings["generate"] = report.seconds - sum(report.timings.values())
    return report
