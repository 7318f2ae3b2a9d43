"""Intake benchmark: cases opened per second with grid location, dedup check and dispatch.

    .venv/bin/python -m benchmarks.bench_intake [--cases 20000] [--batch 1000] [--baseline 2000]

linli: ``case_open_many`` in batches (vectorised ``locate_many``, one dedup query and one
number reservation per batch, bulk inserts of cases and timeline events, one audit-chain
lock per batch writing an entry per case, rollups updated in one statement per table).
Also measured: ``case_open`` one case per call (the HTTP path's service cost).
Baseline in the same run: per case a Shapely polygon loop over every grid, a dedup query,
a rule lookup and ``Case.objects.create()`` in autocommit.

SQLite in a temporary data folder by default; with ``LINLI_DATABASE_URL`` pointing at
PostgreSQL a temporary database is created and dropped after (see ``bench_seed``).
Goal (issue 4, PostgreSQL): ≥ 10× the baseline and ≥ 2,000 cases/s.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from typing import Any

from benchmarks.bench_seed import fresh_database
from benchmarks.harness import Result, report

GRIDS_PER_SIDE = 20  # 400 grids, a district's worth
SIZE = 0.004  # degrees, ~400 m
LON0, LAT0 = 120.10, 30.10


def build_district() -> list[Any]:
    """District > street > 4 communities > 400 square grids, a primary grid worker each."""
    from linli.accounts.choices import AssignmentKind, Role
    from linli.accounts.models import AreaAssignment, User
    from linli.geo.choices import AreaLevel
    from linli.geo.models import Area

    def area(level: int, code: str, parent: Area | None, boundary: dict[str, Any] | None = None) -> Area:
        made = Area.objects.create(level=level, code=code, name=code, parent=parent, path="", boundary=boundary)
        made.path = f"{parent.path if parent else '/'}{made.pk}/"
        made.save(update_fields=["path"])
        return made

    district = area(AreaLevel.DISTRICT, "330199", None)
    street = area(AreaLevel.STREET, "330199001", district)
    communities = [area(AreaLevel.COMMUNITY, f"330199001{c:03d}", street) for c in range(1, 5)]
    grids = []
    for i in range(GRIDS_PER_SIDE):
        for j in range(GRIDS_PER_SIDE):
            x, y = LON0 + i * SIZE, LAT0 + j * SIZE
            ring = [[x, y], [x + SIZE, y], [x + SIZE, y + SIZE], [x, y + SIZE], [x, y]]
            community = communities[(i // 10) * 2 + j // 10]
            grids.append(area(AreaLevel.GRID, f"{community.code}{i * GRIDS_PER_SIDE + j + 1:03d}", community,
                              {"type": "Polygon", "coordinates": [ring]}))
    workers = User.objects.bulk_create([
        User(username=f"gw{n}", role=Role.GRID_WORKER, password="!") for n in range(len(grids))  # noqa: S106 -- unusable password
    ])
    AreaAssignment.objects.bulk_create([
        AreaAssignment(user=w, area=g, kind=AssignmentKind.PRIMARY) for w, g in zip(workers, grids, strict=True)
    ])
    return grids


def add_resident_accounts(count: int, grids: list[Any]) -> None:
    """``count`` resident portal accounts, each a member of a grid: a district whose residents
    log in. Intake must not get slower with them (its caches' staleness check once scanned
    every user and assignment: 41 ms a call at 100,000)."""
    from linli.accounts.choices import AssignmentKind, Role
    from linli.accounts.models import AreaAssignment, User

    for start in range(0, count, 10_000):
        made = User.objects.bulk_create([
            User(username=f"resident{n}", role=Role.RESIDENT, password="!")  # noqa: S106 -- unusable password
            for n in range(start, min(count, start + 10_000))
        ])
        AreaAssignment.objects.bulk_create([
            AreaAssignment(user=u, area=grids[n % len(grids)], kind=AssignmentKind.MEMBER) for n, u in enumerate(made)
        ])


def make_items(n: int, prefix: str) -> list[Any]:
    from linli.cases.models import Category
    from linli.cases.services import CaseInput

    rng = random.Random(4)
    minors = list(Category.objects.filter(parent__isnull=False).values_list("pk", flat=True))
    span = GRIDS_PER_SIDE * SIZE
    return [
        CaseInput(source="iot", category=rng.choice(minors), description="传感器报警",
                  lon=LON0 + rng.random() * span, lat=LAT0 + rng.random() * span,
                  source_key=f"{prefix}-{k}")
        for k in range(n)
    ]


def linli_batch(items: list[Any], batch: int) -> tuple[float, float]:
    """Cases per second, and this process's CPU microseconds per case: the Python side
    alone, steadier than wall time on a box whose speed drifts, so that a change of a few
    per cent there can be seen."""
    from linli.cases.services import case_open_many
    from linli.core.actors import SystemActor

    actor = SystemActor("apikey:bench")
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(items), batch):
        case_open_many(actor=actor, items=items[start:start + batch])
    return len(items) / (time.perf_counter() - started), (time.process_time() - cpu) * 1e6 / len(items)


def _worker(index: int, count: int, batch: int, barrier: Any, results: Any) -> None:
    """One intake process of ``--workers``: Django set up and its caches warm before the
    barrier, so that the parent times only the intake itself."""
    import django

    django.setup()
    from linli.cases.services import case_open_many
    from linli.core.actors import SystemActor
    from linli.geo.selectors import grid_locator

    grid_locator()
    items = make_items(count, f"worker{index}")
    actor = SystemActor("apikey:bench")
    case_open_many(actor=actor, items=make_items(10, f"warm{index}"))  # fills the process caches
    barrier.wait()
    cpu = time.process_time()
    for start in range(0, len(items), batch):
        case_open_many(actor=actor, items=items[start:start + batch])
    results.put((len(items), time.process_time() - cpu))


def linli_workers(workers: int, cases: int, batch: int) -> tuple[float, float]:
    """Cases per second of ``workers`` processes running ``case_open_many`` side by side
    (how a deployment runs its intake: several HTTP or task workers), each ``cases``; and
    the mean client CPU microseconds per case."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # the children open their own
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(workers + 1), spawn.Queue()
    procs = [spawn.Process(target=_worker, args=(k, cases, batch, barrier, results)) for k in range(workers)]
    for proc in procs:
        proc.start()
    barrier.wait()
    started = time.perf_counter()
    done = [results.get() for _ in procs]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
        if proc.exitcode:
            raise SystemExit(f"an intake worker failed (exit code {proc.exitcode})")
    total = sum(n for n, _cpu in done)
    return total / elapsed, sum(cpu for _n, cpu in done) * 1e6 / total


def linli_single(items: list[Any]) -> float:
    from linli.cases.services import case_open
    from linli.core.actors import SystemActor

    actor = SystemActor("apikey:bench")
    started = time.perf_counter()
    for item in items:
        case_open(actor=actor, source=item.source, category=item.category, description=item.description,
                  lon=item.lon, lat=item.lat, source_key=item.source_key)
    return len(items) / (time.perf_counter() - started)


def naive(items: list[Any]) -> float:
    """One ORM save per case; the grid by testing every polygon; rules looked up per case."""
    import shapely
    from django.db.models import Q

    from linli.cases.models import Case, Category, DispatchRule
    from linli.geo.choices import AreaLevel
    from linli.geo.models import Area

    started = time.perf_counter()
    for n, item in enumerate(items):
        point = shapely.Point(item.lon, item.lat)
        grid_id = None
        for pk, boundary in Area.objects.filter(level=AreaLevel.GRID).values_list("pk", "boundary"):
            if shapely.geometry.shape(boundary).contains(point):
                grid_id = pk
                break
        if Case.objects.filter(source=item.source, source_key=item.source_key).exists():
            continue
        category = Category.objects.get(pk=item.category)
        rule = DispatchRule.objects.filter(
            Q(category=category) | Q(category_id=category.parent_id) | Q(category__isnull=True), active=True,
        ).order_by("-priority").first()
        Case.objects.create(
            number=f"NAIVE-{n}", source=item.source, source_key=item.source_key, category=category,
            level=category.default_level, description=item.description, lon=item.lon, lat=item.lat,
            grid_id=grid_id, department_id=rule.department_id if rule else None,
        )
    return len(items) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--single", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=1000)
    parser.add_argument("--resident-accounts", type=int, default=0,
                        help="add this many resident portal accounts (each a member of a grid) first")
    parser.add_argument("--workers", type=int, default=2,
                        help="PostgreSQL: also measure this many intake processes side by side (0: skip)")
    parser.add_argument("--without-rollups", action="store_true",
                        help="diagnosis only: measure intake with the statistics rollups switched off")
    args = parser.parse_args(argv)
    with fresh_database() as vendor:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        grids = build_district()
        add_resident_accounts(args.resident_accounts, grids)
        from linli.geo.selectors import grid_locator

        grid_locator()  # built once per process, as in a server
        if args.without_rollups:
            import linli.cases.services as services

            services.rollup_apply_many = lambda *_a, **_k: None  # type: ignore[attr-defined]
        base = naive(make_items(args.baseline, "naive"))
        batch, cpu_per_case = linli_batch(make_items(args.cases, "batch"), args.batch)
        print(f"case_open_many: {batch:,.0f} cases/s, this process's CPU {cpu_per_case:.0f} µs per case", flush=True)
        single = linli_single(make_items(args.single, "single"))
        parallel = cpu_parallel = 0.0
        if args.workers and vendor == "postgresql" and not args.without_rollups:
            parallel, cpu_parallel = linli_workers(args.workers, args.cases // args.workers, args.batch)
            print(f"case_open_many, {args.workers} processes: {parallel:,.0f} cases/s, "
                  f"CPU {cpu_parallel:.0f} µs per case in each", flush=True)
        from linli.cases.models import Case
        from linli.core.selectors import audit_chain_verify

        assert audit_chain_verify().ok, "audit chain broken"
        total = Case.objects.count()
    goal_batch = batch >= 10 * base and (vendor != "postgresql" or batch >= 2000)
    results = [
        Result(bench=f"intake case_open_many ({vendor})", size=args.cases, unit="cases/s", linli=batch,
               baseline=base, baseline_name="Case.objects.create() + Shapely loop + per-case queries",
               goal="≥ 10× baseline, ≥ 2,000 cases/s on PostgreSQL", goal_met=goal_batch,
               notes=f"batches of {args.batch}; {total} cases in the table at the end; "
                     f"client CPU {cpu_per_case:.0f} µs per case",
               extra={"client_cpu_us_per_case": cpu_per_case}),
        Result(bench=f"intake case_open one by one ({vendor})", size=args.single, unit="cases/s",
               linli=single, baseline=base, baseline_name="same baseline",
               notes="one transaction, one audit entry per case (the HTTP POST path)"
                     + (f"; {args.resident_accounts} resident accounts" if args.resident_accounts else "")),
    ]
    suffix = "-without-rollups" if args.without_rollups else ""
    for r in results:
        r.bench += " no rollups" if args.without_rollups else ""
    if parallel:
        results.append(Result(
            bench=f"intake case_open_many, {args.workers} processes ({vendor})", size=args.cases, unit="cases/s",
            linli=parallel, baseline=base, baseline_name="same baseline (one process)",
            goal="≥ 10× baseline, ≥ 2,000 cases/s on PostgreSQL",
            goal_met=parallel >= 10 * base and (vendor != "postgresql" or parallel >= 2000),
            notes=f"{args.workers} processes side by side, batches of {args.batch}, "
                  f"client CPU {cpu_parallel:.0f} µs per case", extra={"client_cpu_us_per_case": cpu_parallel}))
    report(results, name=f"intake-{vendor}{suffix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
