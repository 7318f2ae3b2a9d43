"""The cockpit's KPIs over N cases (issue 21): warm p50/p99 server time vs a naive scan.

    .venv/bin/python -m benchmarks.bench_cockpit --cases 3000000
    LINLI_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/linli_bench_stats \\
        .venv/bin/python -m benchmarks.bench_cockpit --cases 3000000

It reuses the district and the case history of ``bench_stats`` (8 streets × 10 communities ×
5 grids, two years of cases ending on ``--end``; the same folder or database, so a run of
one prepares the other), then times, for the district admin (400 grids) and for a street
operator (50 grids):

- ``cockpit_for_user``: every figure of the wall screen (KPIs, open cases by level, the
  12-month trend, the map's grid, case and density layers), for the day ``--end``;
- the page ``GET /cockpit/`` rendered by Django in process (server time, no network), with
  the clock set to ``--end`` so the page reads the same day.

Each line also gives the process CPU time per call (the machine is shared: wall times swing
with the load, CPU time much less) and the number of queries of one call.

The baseline computes the KPIs and the trend straight from the case table: open cases by
level, the day's intake, the month's on-time rate and 12 monthly reported/closed counts, one
aggregate each. The registry part (residents, households, key populations) is the same code
on both sides and small here (the bench district has no residents).
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date, datetime, timedelta
from typing import Any
from unittest import mock

from benchmarks.bench_stats import _admin, _bench_user, _build, _setup_django, _tree


def _street_operator(district: Any) -> Any:
    from linli.accounts.choices import AssignmentKind, Role
    from linli.geo.choices import AreaLevel
    from linli.geo.models import Area

    street = Area.objects.filter(level=AreaLevel.STREET, path__startswith=district.path).order_by("code").first()
    assert street is not None, "the bench district has no street"
    return _bench_user("bench_cockpit_street", Role.STREET_STAFF, street.pk, AssignmentKind.MEMBER)


def _naive(grid_ids: list[int], today: date) -> object:
    from django.db.models import Count, F, Q
    from django.db.models.functions import TruncMonth

    from linli.cases.choices import OPEN_STATUSES
    from linli.cases.models import Case

    cases = Case.objects.filter(grid_id__in=grid_ids)
    by_level = list(cases.filter(status__in=list(OPEN_STATUSES)).values("level").annotate(n=Count("id")))
    intake = cases.filter(created_at__date=today).count()
    first = today.replace(day=1)
    month = cases.filter(closed_at__date__gte=first, closed_at__date__lte=today).aggregate(
        closed=Count("id"), on_time=Count("id", filter=Q(closed_at__lte=F("due_at"))))
    start = (first - timedelta(days=335)).replace(day=1)
    reported = list(cases.filter(created_at__date__gte=start, created_at__date__lte=today)
                    .annotate(m=TruncMonth("created_at")).values("m").annotate(n=Count("id")))
    closed = list(cases.filter(closed_at__date__gte=start, closed_at__date__lte=today)
                  .annotate(m=TruncMonth("closed_at")).values("m").annotate(n=Count("id")))
    return by_level, intake, month, reported, closed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=3_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--end", default="2026-10-31", help="last day of the history, the cockpit's today")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls (after 3 warm-up calls)")
    parser.add_argument("--baseline-repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    _setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from benchmarks.harness import Result, percentile, report, time_calls
    from linli.accounts.selectors import scope_for
    from linli.cases.models import Case
    from linli.cockpit.selectors import cockpit_for_user

    call_command("migrate", verbosity=0)
    end = date.fromisoformat(args.end)
    district, _grid_ids = _tree()
    timings = _build(args.cases, args.months, end, args.seed, district, rebuild=False)
    size = Case.objects.count()
    print(f"{size:,} cases", flush=True)
    noon = datetime(end.year, end.month, end.day, 12, tzinfo=timezone.get_current_timezone())
    results: list[Result] = []
    for label, user in (("district admin, 400 grids", _admin(district)),
                        ("street operator, 50 grids", _street_operator(district))):
        grids = sorted(scope_for(user).grid_ids)
        client = Client()
        client.force_login(user)

        def selector(user: Any = user) -> object:
            return cockpit_for_user(user=user, today=end)

        def page(client: Client = client) -> object:
            with mock.patch("django.utils.timezone.now", return_value=noon):
                response = client.get("/cockpit/")
            assert response.status_code == 200, response.status_code
            return response

        def naive(grids: list[int] = grids) -> object:
            return _naive(grids, end)

        for name, fn in (("cockpit_for_user", selector), ("GET /cockpit/", page)):
            time_calls(fn, repeat=3)
            with CaptureQueriesContext(connection) as queries:
                fn()
            cpu = time.process_time()
            samples = time_calls(fn, repeat=args.repeat)
            cpu_ms = (time.process_time() - cpu) * 1000 / max(1, args.repeat)
            # A request resets Django's query log: counted for the selector only.
            n_queries = len(queries.captured_queries) if fn is selector else -1
            # --baseline-repeat 0: no naive scan at all (7-30 s a call under load)
            if args.baseline_repeat:
                time_calls(naive, repeat=1)
            base = time_calls(naive, repeat=args.baseline_repeat) if args.baseline_repeat else []
            p50, p99, b50 = percentile(samples, 50), percentile(samples, 99), percentile(base, 50)
            results.append(Result(
                bench=f"{name} ({label})", size=size, unit="ms p50", linli=p50, baseline=b50,
                baseline_name="KPIs and trend aggregated from the case table", higher_is_better=False,
                goal="p99 <= 50 ms", goal_met=p99 <= 50, notes=f"{args.repeat} calls",
                extra={"p99_ms": p99, "grids": len(grids), "queries": n_queries,
                       "cpu_ms_per_call": cpu_ms, "load_average": os.getloadavg()[0], **timings},
            ))
            print(f"{name:18} {label:28} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  cpu {cpu_ms:6.1f} ms/call  "
                  f"{n_queries} queries  naive p50 {b50:9.1f} ms  "
                  f"{b50 / p50:6.1f}x  load {os.getloadavg()[0]:.1f}", flush=True)
    report(results, name=f"cockpit-{connection.vendor}")


if __name__ == "__main__":
    main()
