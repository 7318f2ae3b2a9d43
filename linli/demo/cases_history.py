"""A year (or more) of realistic case history for the demo street, written in bulk.

Seasonal patterns: more 市容环境 and 园林绿化 in summer (heat, typhoons), more 消防 and
电动车充电 hazards in winter, rubbish around the Spring Festival, standing water in the plum
rains; every channel (grid-worker patrols about 55 %, 12345 hotline, residents, IoT, AI
cameras, staff, departments); most cases closed on time, some late, some reassigned,
some reworked, some rated; the last weeks still open so inboxes and supervision are alive.

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

from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment
from linli.cases.choices import CaseAction, CaseSource, CaseStage, CaseStatus, SupervisionLevel
from linli.cases.models import Case, CaseEvent, CaseNumberSequence, Category
from linli.cases.rollups import rollup_rebuild
from linli.cases.taxonomy import GRID_WORKER_MAJORS
from linli.core.actors import Actor
from linli.core.calendar import SHANGHAI, deadline_in_working_days, deadline_in_working_hours
from linli.core.services import audit_record
from linli.demo.bulk import BulkWriter
from linli.geo.choices import AreaLevel
from linli.geo.models import Area

Progress = Callable[[str], None]

DEFAULT_CASES_PER_MONTH: Final = 1500
ACTOR_LABEL: Final = "演示数据"
SOURCE_KEY_PREFIX: Final = "demo-history"

SOURCE_WEIGHTS: Final = (
    (CaseSource.PATROL, 55), (CaseSource.HOTLINE, 14), (CaseSource.RESIDENT, 8),
    (CaseSource.CAMERA, 8), (CaseSource.IOT, 7), (CaseSource.STAFF, 5), (CaseSource.DEPARTMENT, 3),
)
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


@dataclass(frozen=True)
class HistoryCategory:
    """What the generator needs of a 小类."""

    id: int
    code: str
    name: str
    major_code: str
    level: int
    handle_amount: int
    handle_unit: str
    department_id: int | None


@dataclass(frozen=True)
class HistoryGrid:
    """A grid cases are reported in: id, name, centroid and its primary grid worker."""

    id: int
    name: str
    lon: float | None
    lat: float | None
    worker_id: int | None


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
        self.sources = [s for s, _w in SOURCE_WEIGHTS]
        self.source_cum = _cumulative([float(w) for _s, w in SOURCE_WEIGHTS])
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
        source = _weighted(rng, self.sources, self.source_cum)
        c = self._category(rng, t0)
        local_day = t0.astimezone(SHANGHAI).date()
        numbers[local_day] = numbers.get(local_day, 0) + 1
        to_worker = c.major_code in GRID_WORKER_MAJORS
        row: dict[str, Any] = {
            "id": case_id, "created_at": t0, "number": f"{self.prefix}-{local_day:%Y%m%d}-{numbers[local_day]:04d}",
            "source": source, "source_key": f"{SOURCE_KEY_PREFIX}:{self.seed}:{serial}", "category_id": c.id,
            "level": c.level, "description": f"{grid.name}{c.name}", "address": f"{grid.name}",
            "lon": None if grid.lon is None else grid.lon + rng.uniform(-0.002, 0.002),
            "lat": None if grid.lat is None else grid.lat + rng.uniform(-0.002, 0.002),
            "grid_id": grid.id, "reporter_name": "市民" if source == CaseSource.HOTLINE else "",
            "status": CaseStatus.REPORTED, "stage": CaseStage.REGISTER,
            "stage_started_at": t0, "stage_due_at": t0 + timedelta(hours=1),
        }
        events: list[tuple[Any, ...]] = [("open", "", CaseStatus.REPORTED, t0)]
        status: str = CaseStatus.REPORTED

        def step(action: str, to: str, moment: datetime) -> bool:
            """Record a transition if it happened before now."""
            nonlocal status
            if moment > now:
                return False
            events.append((action, status, to, moment))
            status = to
            row["status"] = to
            row["updated_at"] = moment
            return True

        roll = rng.random()
        if roll < 0.03:
            step(CaseAction.CANCEL, CaseStatus.CANCELLED, t0 + timedelta(minutes=rng.randint(10, 90)))
            return self._finish(row, status), events
        if roll < 0.04 and case_id > 1:
            if step(CaseAction.MERGE, CaseStatus.MERGED, t0 + timedelta(minutes=rng.randint(10, 90))):
                row["merged_into_id"] = case_id - 1
            return self._finish(row, status), events
        if source == CaseSource.PATROL and c.level >= 3 and rng.random() < PROACTIVE_ON_SPOT:
            handled = t0 + timedelta(minutes=rng.randint(10, 45))
            if step(CaseAction.HANDLE_ON_SPOT, CaseStatus.HANDLED, handled):
                row.update(registered_at=t0, handled_at=handled, handled_on_spot=True, assignee_id=grid.worker_id)
                closed = handled + timedelta(minutes=rng.randint(2, 30))
                if step(CaseAction.VERIFY_PASS, CaseStatus.VERIFIED, closed) and step(
                        CaseAction.CLOSE, CaseStatus.CLOSED, closed):
                    row.update(verified_at=closed, closed_at=closed)
            return self._finish(row, status), events
        registered = t0 + timedelta(minutes=rng.randint(3, 50))
        if not step(CaseAction.REGISTER, CaseStatus.REGISTERED, registered):
            return self._finish(row, status), events
        row["registered_at"] = registered
        dispatched = registered + timedelta(minutes=rng.randint(3, 60))
        if not step(CaseAction.DISPATCH, CaseStatus.DISPATCHED, dispatched):
            return self._finish(row, status), events
        department = None if to_worker else c.department_id
        row.update(dispatched_at=dispatched, department_id=department,
                   assignee_id=grid.worker_id if to_worker else None)
        if rng.random() < 0.06:
            # Sent to the wrong department or worker first: reassigned an hour or two later.
            dispatched += timedelta(minutes=rng.randint(30, 180))
            if not step(CaseAction.REASSIGN, CaseStatus.DISPATCHED, dispatched):
                return self._finish(row, status), events
            row["dispatched_at"] = dispatched
        due = self._due(dispatched, c)
        row["due_at"] = due
        accepted = dispatched + timedelta(minutes=rng.randint(5, 120))
        if not step(CaseAction.ACCEPT, CaseStatus.ACCEPTED, accepted):
            return self._open(row, status, due, now), events
        row["accepted_at"] = accepted
        span = max((due - dispatched).total_seconds(), 3600.0)
        # Most within the time limit, a tail beyond it (lognormal share of the allowed time).
        share = math.exp(rng.gauss(-0.9, 0.6))
        handled = dispatched + timedelta(seconds=span * share)
        if not step(CaseAction.REPORT_BACK, CaseStatus.HANDLED, handled):
            return self._open(row, status, due, now), events
        row["handled_at"] = handled
        if handled > due:
            row["overdue_count"] = 1
        verified = handled + timedelta(minutes=rng.randint(20, 360))
        if rng.random() < 0.05:
            # Verification failed: handled again.
            if not step(CaseAction.VERIFY_FAIL, CaseStatus.DISPATCHED, verified):
                return self._open(row, CaseStatus.HANDLED, due, now), events
            row["rework_count"] = 1
            again = verified + timedelta(hours=rng.uniform(2, 30))
            if not (step(CaseAction.ACCEPT, CaseStatus.ACCEPTED, verified + timedelta(minutes=30))
                    and step(CaseAction.REPORT_BACK, CaseStatus.HANDLED, again)):
                row["handled_at"] = None
                return self._open(row, status, due, now), events
            row["handled_at"] = again
            if again > due:
                row["overdue_count"] = 1
            verified = again + timedelta(minutes=rng.randint(20, 240))
        if not step(CaseAction.VERIFY_PASS, CaseStatus.VERIFIED, verified):
            return self._open(row, status, due, now), events
        row["verified_at"] = verified
        closed = verified + timedelta(minutes=rng.randint(10, 180))
        if not step(CaseAction.CLOSE, CaseStatus.CLOSED, closed):
            return self._open(row, status, due, now), events
        row["closed_at"] = closed
        if rng.random() < 0.4:
            rated = closed + timedelta(hours=rng.uniform(1, 48))
            score = rng.choices([5, 4, 3, 2, 1], weights=[62, 24, 8, 4, 2])[0]
            if step(CaseAction.EVALUATE, CaseStatus.EVALUATED, rated):
                row.update(satisfaction=score, evaluated_at=rated)
        return self._finish(row, status), events

    @staticmethod
    def _finish(row: dict[str, Any], status: str) -> dict[str, Any]:
        if status in (CaseStatus.CLOSED, CaseStatus.EVALUATED, CaseStatus.CANCELLED, CaseStatus.MERGED):
            row.update(stage=CaseStage.NONE, stage_started_at=None, stage_due_at=None)
        elif status == CaseStatus.REGISTERED:
            row.update(stage=CaseStage.DISPATCH, stage_started_at=row["registered_at"],
                       stage_due_at=row["registered_at"] + timedelta(hours=1))
        return row

    @staticmethod
    def _open(row: dict[str, Any], status: str, due: datetime, now: datetime) -> dict[str, Any]:
        """A case still being handled: the handling or verifying clock runs."""
        if status in (CaseStatus.DISPATCHED, CaseStatus.ACCEPTED):
            row.update(stage=CaseStage.HANDLE, stage_started_at=row["dispatched_at"], stage_due_at=due)
            if now > due:
                row.update(supervision_level=SupervisionLevel.RED, overdue_count=1)
        else:
            row.update(stage=CaseStage.VERIFY, stage_started_at=row.get("handled_at"),
                       stage_due_at=(row.get("handled_at") or now) + timedelta(hours=4))
        return row


def history_inputs(*, area: Area | None = None) -> tuple[list[HistoryCategory], list[HistoryGrid]]:
    """Active 小类 and the grids under ``area`` (all grids without it) with their workers."""
    categories = [
        HistoryCategory(id=c.pk, code=c.code, name=c.name, major_code=c.parent.code if c.parent else c.code,
                        level=c.default_level, handle_amount=c.handle_amount, handle_unit=c.handle_unit,
                        department_id=c.department_id)
        for c in Category.objects.filter(parent__isnull=False, active=True).select_related("parent").order_by("code")
    ]
    grids_qs = Area.objects.filter(level=AreaLevel.GRID)
    if area is not None:
        grids_qs = grids_qs.filter(path__startswith=area.path)
    workers = dict(AreaAssignment.objects.filter(
        kind=AssignmentKind.PRIMARY, user__role=Role.GRID_WORKER, area__level=AreaLevel.GRID,
    ).values_list("area_id", "user_id"))
    grids = [HistoryGrid(id=pk, name=name, lon=lon, lat=lat, worker_id=workers.get(pk))
             for pk, name, lon, lat in grids_qs.order_by("code").values_list("pk", "name", "centroid_lon", "centroid_lat")]
    return categories, grids


_CASE_FIELDS: Final = list(Case._meta.concrete_fields)


def _case_tuples(rows: list[dict[str, Any]], writer: BulkWriter) -> Iterator[tuple[Any, ...]]:
    adapt = connection.ops.adapt_datetimefield_value if writer.vendor == "sqlite" else None
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
    adapt = connection.ops.adapt_datetimefield_value if writer.vendor == "sqlite" else None
    for event_id, case_id, action, from_status, to_status, at in events:
        yield (event_id, case_id, action, from_status, to_status, None, ACTOR_LABEL, "", "{}",
               adapt(at) if adapt else at)


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
        rebuilt = time.perf_counter()
        report.rollup_days, report.rollup_areas = rollup_rebuild(since=first_month)
        report.timings["rollups"] = time.perf_counter() - rebuilt
        audit_record(actor=actor, action="demo.case_history", target_type="cases.case",
                     fields=["cases.case", "cases.caseevent", "cases.caserollup"],
                     reason=f"seed={seed} months={months} cases={report.cases}")
    report.seconds = time.perf_counter() - started
    report.timings["generate"] = report.seconds - sum(report.timings.values())
    return report
