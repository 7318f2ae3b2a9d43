"""Case inbox, case list and the API's list count per role, over the 3,000,000-case district
that ``bench_stats`` builds (build it first, on the same database):

    LINLI_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/linli_bench_stats \\
        .venv/bin/python -m benchmarks.bench_stats --cases 3000000 --build-only
    LINLI_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/linli_bench_stats \\
        .venv/bin/python -m benchmarks.bench_case_lists [--repeat 20]

One user per role (created once): a district admin, the staff of one street and of one
community, a grid worker of one grid, a department's staff. Times the selectors the pages
and the API call (``case_inbox_for_user`` with 100 rows, ``case_list_for_user`` with the
page's 101 rows, the API's capped count), warm, and prints p50 / p99. Baseline in the same
run: the exact ``count()`` the list page and the API used before (once per role).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from benchmarks.bench_stats import DISTRICT_CODE, _bench_user, _setup_django
from benchmarks.harness import Result, percentile, report, time_calls


def _users() -> dict[str, Any]:
    from linli.accounts.choices import AssignmentKind, Role
    from linli.accounts.models import Department
    from linli.geo.choices import AreaLevel
    from linli.geo.models import Area

    district = Area.objects.get(code=DISTRICT_CODE)
    street = Area.objects.filter(level=AreaLevel.STREET, path__startswith=district.path).order_by("code").first()
    community = Area.objects.filter(level=AreaLevel.COMMUNITY, path__startswith=district.path).order_by("code").first()
    if street is None or community is None:
        raise SystemExit("build the district first (bench_stats --build-only)")
    grid = Area.objects.filter(level=AreaLevel.GRID, path__startswith=community.path).order_by("code").first()
    department = Department.objects.order_by("code").first()
    if grid is None or department is None:
        raise SystemExit("the district has no grid or no department")

    member = AssignmentKind.MEMBER
    return {
        "district admin": _bench_user("bench_lists_admin", Role.DISTRICT_ADMIN, district.pk, member),
        "street staff": _bench_user("bench_lists_street", Role.STREET_STAFF, street.pk, member),
        "community staff": _bench_user("bench_lists_community", Role.COMMUNITY_STAFF, community.pk, member),
        "grid worker": _bench_user("bench_lists_grid", Role.GRID_WORKER, grid.pk, AssignmentKind.BACKUP),
        "department staff": _bench_user("bench_lists_department", Role.DEPARTMENT_STAFF, district.pk, member,
                                        department=department),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    _setup_django()
    from django.db import connection

    from linli.cases import api, selectors
    from linli.cases.models import Case

    total = Case.objects.count()
    results = []
    for role, user in _users().items():
        def inbox(u: Any = user) -> object:
            return selectors.case_inbox_for_user(user=u, limit=100)

        def page(u: Any = user) -> object:
            return list(selectors.case_list_for_user(user=u)[:101])

        def capped(u: Any = user) -> object:
            return selectors.case_list_for_user(user=u).order_by()[:api.COUNT_CAP + 1].count()

        def exact(u: Any = user) -> object:
            return selectors.case_list_for_user(user=u).count()

        exact_ms = time_calls(exact, repeat=1)[0]
        for shape, call in (("inbox", inbox), ("list page", page), ("API count", capped)):
            call()  # warm
            samples = time_calls(call, repeat=args.repeat)
            p50, p99 = percentile(samples, 50), percentile(samples, 99)
            print(f"{role:17s} {shape:10s} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms", flush=True)
            results.append(Result(
                bench=f"{shape}, {role} ({connection.vendor})", size=total, unit="ms p50", linli=p50,
                baseline=exact_ms if shape != "inbox" else None, baseline_name="exact count() of the scope",
                higher_is_better=False, notes=f"p99 {p99:.1f} ms over {args.repeat} warm calls",
                extra={"p99_ms": p99},
            ))
    report(results, name=f"case-lists-{connection.vendor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
