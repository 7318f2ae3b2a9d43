"""Case statistics over N cases: warm p50/p99 from the rollups vs the naive ORM aggregate.

    .venv/bin/python -m benchmarks.bench_stats --cases 3000000
    LINLI_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/linli_bench_stats \\
        .venv/bin/python -m benchmarks.bench_stats --cases 3000000

Without ``LINLI_DATA_DIR`` the script uses a throwaway folder under the system temp dir
(kept between runs: a second run reuses the cases; delete it, or drop the database, to
start afresh). The district: 8 streets × 10 communities × 5 grids = 400 grids, two years
of cases from the demo's history generator (seasons, channels, outcomes; approximate
deadlines, no timelines: statistics read neither), written with COPY/executemany, then
``rollup_rebuild`` (timed).

Each query is ``case_statistics_for_user`` for the district admin (all 400 grids, the
largest scope) — scope resolution, rollup reads, labels and indicators included — per
grouping and period; and for a grid worker (one grid), the breakdowns that read the
grid's daily rows. The baseline computes the same counters with one conditional
aggregate over the case table per period:
``Case.objects.filter(grid__in=…, <any event in period>).values(group).annotate(Count(filter=…), Avg(…), …)``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any


def _setup_django() -> None:
    if "LINLI_DATA_DIR" not in os.environ:
        os.environ["LINLI_DATA_DIR"] = str(Path(tempfile.gettempdir()) / "linli-bench-stats")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()


STREETS, COMMUNITIES, GRIDS = 8, 10, 5
DISTRICT_CODE = "330199"


def _tree() -> tuple[Any, list[int]]:
    """The benchmark district (created once) and its grid ids."""
    from linli.geo.choices import AreaLevel
    from linli.geo.models import Area

    district = Area.objects.filter(code=DISTRICT_CODE).first()
    if district is None:
        district = Area.objects.create(level=AreaLevel.DISTRICT, code=DISTRICT_CODE, name="基准区", path="")
        district.path = f"/{district.pk}/"
        district.save(update_fields=["path"])
        for s in range(1, STREETS + 1):
            street = Area.objects.create(level=AreaLevel.STREET, code=f"{DISTRICT_CODE}{s:03d}", name=f"第{s}街道",
                                         parent=district, path="")
            street.path = f"{district.path}{street.pk}/"
            street.save(update_fields=["path"])
            for c in range(1, COMMUNITIES + 1):
                community = Area.objects.create(level=AreaLevel.COMMUNITY, code=f"{street.code}{c:03d}",
                                                name=f"第{s}街道第{c}社区", parent=street, path="")
                community.path = f"{street.path}{community.pk}/"
                community.save(update_fields=["path"])
                for g in range(1, GRIDS + 1):
                    grid = Area.objects.create(level=AreaLevel.GRID, code=f"{community.code}{g:03d}",
                                               name=f"{community.name}第{g}网格", parent=community, path="")
                    grid.path = f"{community.path}{grid.pk}/"
                    grid.save(update_fields=["path"])
    grids = list(Area.objects.filter(level=AreaLevel.GRID, path__startswith=district.path).values_list("pk", flat=True))
    return district, grids


def _bench_user(username: str, role: str, area_id: int, kind: str, department: Any = None) -> Any:
    """A user of the benchmark (created once) assigned to one area (department staff: of
    ``department``)."""
    from linli.accounts.models import AreaAssignment, User

    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(username=username, password=None, role=role, department=department)
        AreaAssignment.objects.create(user=user, area_id=area_id, kind=kind)
    return user


def _admin(district: Any) -> Any:
    from linli.accounts.choices import AssignmentKind, Role

    return _bench_user("bench_stats_admin", Role.DISTRICT_ADMIN, district.pk, AssignmentKind.MEMBER)


def _grid_worker(grid_id: int) -> Any:
    """A grid worker of one grid: their breakdowns read the grid's daily rows."""
    from linli.accounts.choices import AssignmentKind, Role

    return _bench_user("bench_stats_grid_worker", Role.GRID_WORKER, grid_id, AssignmentKind.PRIMARY)


def _build(cases: int, months: int, end: date, seed: int, district: Any, *, rebuild: bool) -> dict[str, float]:
    from django.db import transaction
    from django.db.models import Max
    from django.utils import timezone

    from linli.cases.models import Case
    from linli.cases.rollups import rollup_rebuild
    from linli.demo.bulk import BulkWriter
    from linli.demo.case_inputs import history_inputs
    from linli.demo.cases_history import (
        MONTH_VOLUME,
        CaseHistoryGenerator,
        write_history_batch,
    )

    timings: dict[str, float] = {}
    existing = Case.objects.count()
    if existing >= cases * 0.95:
        print(f"reusing {existing:,} cases", flush=True)
        if rebuild:
            t = time.perf_counter()
            rollup_rebuild()
            timings["rollup_rebuild_s"] = time.perf_counter() - t
            print(f"rebuilt rollups in {timings['rollup_rebuild_s']:.1f}s", flush=True)
        return timings
    categories, grids = history_inputs(area=district)
    generator = CaseHistoryGenerator(categories=categories, grids=grids, seed=seed, exact_deadlines=False,
                                     with_events=False, number_prefix="BJ")
    per_month = round(cases / months / (sum(MONTH_VOLUME.values()) / 12))
    writer = BulkWriter(now=timezone.now())
    now = datetime(end.year, end.month, end.day, 18, tzinfo=timezone.get_current_timezone())
    first = int(Case.objects.aggregate(top=Max("id"))["top"] or 0) + 1
    started = time.perf_counter()
    written = 0
    write_s = 0.0
    for batch in generator.months(end=end, months=months, cases_per_month=per_month, now=now,
                                  first_case_id=first, first_event_id=1, numbers={}):
        t = time.perf_counter()
        with transaction.atomic():
            write_history_batch(writer, batch)
        write_s += time.perf_counter() - t
        written += len(batch.cases)
        print(f"  {batch.month:%Y-%m}: {written:,} cases ({time.perf_counter() - started:.0f}s)", flush=True)
    timings["build_cases_s"] = time.perf_counter() - started
    timings["write_s"] = write_s
    writer.reset_sequences([Case])
    t = time.perf_counter()
    rollup_rebuild()
    timings["rollup_rebuild_s"] = time.perf_counter() - t
    t = time.perf_counter()
    writer.analyze()
    timings["analyze_s"] = time.perf_counter() - t
    print(f"built {written:,} cases: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()), flush=True)
    return timings


def _naive(group_by: str, grid_ids: list[int], start: date, end: date) -> Callable[[], object]:
    """The same counters straight from the case table, one conditional aggregate."""
    from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
    from django.db.models.functions import TruncMonth

    from linli.cases.models import Case
    from linli.cases.rollups import EXCLUDED_STATUSES, PROACTIVE_SOURCES
    from linli.core.calendar import SHANGHAI

    low = datetime(start.year, start.month, start.day, tzinfo=SHANGHAI)
    high = datetime(end.year, end.month, end.day, tzinfo=SHANGHAI) + timedelta(days=1)

    def within(name: str) -> Q:
        return Q(**{f"{name}__gte": low, f"{name}__lt": high})

    counted = ~Q(status__in=EXCLUDED_STATUSES)
    group = {"grid": "grid_id", "community": "grid_id", "street": "grid_id", "department": "department_id",
             "category": "category__parent_id", "source": "source"}.get(group_by)

    def run() -> object:
        base = Case.objects.filter(grid_id__in=grid_ids).filter(
            within("created_at") | within("registered_at") | within("dispatched_at") | within("handled_at")
            | within("closed_at") | within("due_at"),
        ).order_by()
        grouped: Any = base.annotate(g=TruncMonth("created_at")).values("g") if group is None else base.values(group)
        return list(grouped.annotate(
            reported=Count("id", filter=within("created_at")),
            proactive=Count("id", filter=within("created_at") & Q(source__in=PROACTIVE_SOURCES)),
            registered=Count("id", filter=within("registered_at")),
            dispatched=Count("id", filter=within("dispatched_at")),
            handled=Count("id", filter=within("handled_at")),
            on_spot=Count("id", filter=within("handled_at") & Q(handled_on_spot=True)),
            handle_avg=Avg(ExpressionWrapper(F("handled_at") - F("dispatched_at"), output_field=DurationField()),
                           filter=within("handled_at") & Q(dispatched_at__isnull=False)),
            should_handle=Count("id", filter=within("due_at") & counted),
            handled_on_time=Count("id", filter=within("due_at") & counted & Q(handled_at__lte=F("due_at"))),
            overdue=Count("id", filter=within("created_at") & counted
                          & (Q(overdue_count__gt=0) | Q(handled_at__gt=F("due_at")))),
            should_close=Count("id", filter=within("registered_at") & counted),
            closed_in_cohort=Count("id", filter=within("registered_at") & counted & Q(closed_at__isnull=False)),
            rework=Count("id", filter=within("registered_at") & counted & Q(rework_count__gt=0)),
            closed=Count("id", filter=within("closed_at")),
            rated=Count("id", filter=within("closed_at") & Q(satisfaction__isnull=False)),
            satisfied=Count("id", filter=within("closed_at") & Q(satisfaction__gte=4)),
        ))

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=3_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--end", default="2026-10-31", help="last day of the history")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per query (after 3 warm-up calls)")
    parser.add_argument("--baseline-repeat", type=int, default=3,
                        help="timed naive calls per query (1: no warm-up call, SQLite's take 15-50 s each; 0: none)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the rollups of reused cases (timed)")
    parser.add_argument("--build-only", action="store_true",
                        help="build (or reuse) the cases and rollups, then stop; a later run reuses them")
    args = parser.parse_args()
    _setup_django()
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.harness import Result, percentile, report, time_calls
    from linli.cases.models import Case
    from linli.cases.stats import GROUP_BYS, case_statistics_for_user
    from linli.cases.stats_models import CaseRollup, CaseRollupArea

    call_command("migrate", verbosity=0)
    end = date.fromisoformat(args.end)
    district, grid_ids = _tree()
    admin = _admin(district)
    timings = _build(args.cases, args.months, end, args.seed, district, rebuild=args.rebuild)
    size = Case.objects.count()
    print(f"{size:,} cases, {CaseRollup.objects.count():,} daily and {CaseRollupArea.objects.count():,} "
          f"area rollup rows", flush=True)
    if args.build_only:
        return
    month = end.replace(day=1)
    year_start = date(end.year - 1, end.month, 1) + timedelta(days=31)
    year_start = year_start.replace(day=1)
    periods = {
        # (start, end, compare)
        "month+yoy": (month, end, "yoy"),
        "12 months": (year_start, end, None),
        "45 days+mom": (end - timedelta(days=44), end, "mom"),
    }
    # The district admin reads area rollup rows; a grid worker's breakdowns by 大类, source
    # and department read their grid's daily rows (the area rollup keeps a grid's totals).
    scopes = [("", admin, grid_ids, GROUP_BYS),
              (" (one grid)", _grid_worker(grid_ids[0]), grid_ids[:1], ("category", "source", "department"))]
    results: list[Result] = []
    for (scope, user, scope_grids, group_bys), (period, (start, stop, compare)) in (
            (s, p) for s in scopes for p in periods.items()):
        for group_by in group_bys:
            def query(group_by: str = group_by, start: date = start, stop: date = stop,
                      compare: str | None = compare, user: Any = user) -> object:
                return case_statistics_for_user(user=user, group_by=group_by, start=start, end=stop, compare=compare)

            time_calls(query, repeat=3)
            samples = time_calls(query, repeat=args.repeat)
            # CPU time of this process per call: on SQLite the whole query (the database runs
            # in-process), on PostgreSQL the Python side only. Less sensitive than wall time
            # to other processes sharing the machine.
            cpu = []
            for _ in range(args.repeat):
                started = time.process_time()
                query()
                cpu.append((time.process_time() - started) * 1000)
            naive_current = _naive(group_by, scope_grids, start, stop)
            window = None
            if compare:
                from linli.cases.stats import comparison_window
                window = comparison_window(start, stop, compare)
            naive_previous = _naive(group_by, scope_grids, *window) if window else None

            def naive(current: Callable[[], object] = naive_current,
                      previous: Callable[[], object] | None = naive_previous) -> object:
                return current(), previous() if previous else None

            if args.baseline_repeat > 1:
                naive()  # warm
            # 0 skips the baseline (a rerun of the fast side only; the ratio is then nan).
            base = time_calls(naive, repeat=args.baseline_repeat) if args.baseline_repeat else []
            p50, p99 = percentile(samples, 50), percentile(samples, 99)
            b50 = percentile(base, 50)
            met = p99 <= 50 and bool(base) and b50 / p50 >= 10
            results.append(Result(
                bench=f"stats {group_by} {period}{scope}", size=size, unit="ms p50", linli=p50, baseline=b50,
                baseline_name="conditional Count/Avg aggregate over the case table",
                higher_is_better=False, goal="p99 <= 50 ms, >= 10x naive", goal_met=met,
                notes=f"{args.repeat} calls; baseline {args.baseline_repeat}",
                extra={"p99_ms": p99, "baseline_p99_ms": percentile(base, 99), "cpu_p50_ms": percentile(cpu, 50),
                       "cpu_p99_ms": percentile(cpu, 99), "load_average": os.getloadavg()[0], **timings},
            ))
            print(f"{period + scope:24} {group_by:10} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  cpu p50 {percentile(cpu, 50):6.2f} ms  "
                  f"naive p50 {b50:9.1f} ms  {b50 / p50:7.0f}x  load {os.getloadavg()[0]:.1f}", flush=True)
    report(results, name=f"stats-{connection.vendor}")


if __name__ == "__main__":
    main()
