"""The grid worker's app (issue 22): app-shell size and a cached page opened offline.

1. **Shell size**: every response the phone needs before its first page of work — the
   shell pages (today, report, queue, patrol, offline), manifest, service worker, the app's
   CSS, scripts and icon — gzip-compressed (level 6, what nginx or WhiteNoise's compressed
   files send). Goal ≤ 150 KB. The map library (Leaflet) is kept by the service worker too
   and listed apart: the goal excludes map data and code.
2. **Offline open**: Chromium on a 390×844 viewport, the worker signed in, the service worker
   in control and today's pages kept; then the network off and a kept case page opened 20
   times: p50 / p95 / max of ``page.goto`` until ``load``. Goal ≤ 1 s. Baseline: the same
   page opened online (network first, through Django).

    python -m benchmarks.bench_field_shell [--opens 20]

Runs on its own SQLite database in a temporary data folder; needs Chromium
(``LINLI_TEST_CHROMIUM`` or /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import Result, percentile, report

GOAL_KB = 150
GOAL_OPEN_MS = 1000
PASSWORD = "Bench-field-2026"  # noqa: S105 -- a throwaway account in a temporary database


def _setup() -> None:
    data_dir = tempfile.mkdtemp(prefix="linli-bench-field-")
    os.environ["LINLI_DATA_DIR"] = data_dir
    os.environ.pop("LINLI_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop in this thread
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _fixture() -> tuple[str, list[int]]:
    from linli.accounts.choices import AssignmentKind, Role
    from linli.accounts.models import AreaAssignment, User
    from linli.cases.models import Category
    from linli.cases.services import case_open
    from linli.geo.choices import AreaLevel
    from linli.geo.models import Area

    def area(
        level: AreaLevel, code: str, name: str, parent: Area | None, boundary: object = None
    ) -> Area:
        row = Area.objects.create(
            level=level, code=code, name=name, parent=parent, path="", boundary=boundary
        )
        row.path = f"{parent.path if parent else '/'}{row.pk}/"
        row.save(update_fields=["path"])
        return row

    district = area(AreaLevel.DISTRICT, "330102", "上城区", None)
    street = area(AreaLevel.STREET, "330102001", "望江街道", district)
    community = area(AreaLevel.COMMUNITY, "330102001001", "近江社区", street)
    ring = [[120.20, 30.20], [120.21, 30.20], [120.21, 30.21], [120.20, 30.21], [120.20, 30.20]]
    grid = area(
        AreaLevel.GRID,
        "330102001001001",
        "近江社区第1网格",
        community,
        {"type": "Polygon", "coordinates": [ring]},
    )
    worker = User.objects.create_user(
        username="gw_bench", password=PASSWORD, role=Role.GRID_WORKER, display_name="gw_bench"
    )
    AreaAssignment.objects.create(user=worker, area=grid, kind=AssignmentKind.PRIMARY)
    clerk = User.objects.create_user(
        username="cs_bench", password=PASSWORD, role=Role.COMMUNITY_STAFF, display_name="cs_bench"
    )
    AreaAssignment.objects.create(user=clerk, area=community, kind=AssignmentKind.MEMBER)
    category = Category.objects.get(code="1101")  # 邻里纠纷: dispatched to the grid's worker
    cases = [
        case_open(
            actor=clerk,
            source="staff",
            category=category,
            description=f"楼道纠纷 {i}",
            lon=120.205,
            lat=30.205,
        )[0].pk
        for i in range(10)
    ]
    return worker.username, cases


def _shell_sizes(username: str) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    from django.contrib.staticfiles import finders
    from django.templatetags.static import static
    from django.test import Client

    from linli.field.views import MAP_ASSETS, SHELL_ASSETS

    client = Client()
    from linli.accounts.models import User

    client.force_login(User.objects.get(username=username))
    rows = []
    for url in (
        "/field/",
        "/field/report/",
        "/field/queue/",
        "/field/patrol/",
        "/field/offline/",
        "/field/manifest.webmanifest",
        "/field/sw.js",
    ):
        body = client.get(url).content
        rows.append((url, len(body), len(gzip.compress(body, 6))))

    def files(names: tuple[str, ...]) -> list[tuple[str, int, int]]:
        out = []
        for name in names:
            found = finders.find(name)
            if isinstance(found, str):
                blob = Path(found).read_bytes()
                out.append((static(name), len(blob), len(gzip.compress(blob, 6))))
        return out

    return rows + files(SHELL_ASSETS), files(MAP_ASSETS)


def _chromium() -> str:
    for candidate in (
        os.environ.get("LINLI_TEST_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    sys.exit("Chromium not found (LINLI_TEST_CHROMIUM)")


def _open_times(username: str, case_id: int, opens: int) -> tuple[list[float], list[float]]:
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread
    from playwright.sync_api import sync_playwright

    thread = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    base = f"http://127.0.0.1:{thread.port}"
    online: list[float] = []
    offline: list[float] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=_chromium(), args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
            context.set_default_timeout(60_000)
            page = context.new_page()
            page.goto(f"{base}/login/?next=/field/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            page.click("[data-testid=login-submit]")
            page.wait_for_url(f"{base}/field/")
            page.wait_for_function("() => navigator.serviceWorker.controller !== null")
            page.reload()
            page.wait_for_selector("body[data-precached]", state="attached")
            url = f"{base}/field/cases/{case_id}/"
            for _ in range(opens):
                t0 = time.perf_counter()
                page.goto(url, wait_until="load")
                online.append((time.perf_counter() - t0) * 1000)
            context.set_offline(True)
            for _ in range(opens):
                t0 = time.perf_counter()
                page.goto(url, wait_until="load")
                offline.append((time.perf_counter() - t0) * 1000)
            assert page.locator("[data-testid=case-card]").count() == 1, (
                "the kept page did not open offline"
            )
            browser.close()
    finally:
        thread.terminate()
    return offline, online


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--opens", type=int, default=20)
    args = parser.parse_args()
    _setup()
    username, cases = _fixture()
    shell, maps = _shell_sizes(username)
    for url, raw, zipped in shell + maps:
        print(f"{url:60} {raw / 1024:8.1f} KiB raw {zipped / 1024:8.1f} KiB gzip")
    shell_kb = sum(z for _u, _r, z in shell) / 1024
    map_kb = sum(z for _u, _r, z in maps) / 1024
    print(
        f"shell {shell_kb:.1f} KiB gzip (goal ≤ {GOAL_KB}); map library {map_kb:.1f} KiB gzip, apart"
    )
    offline, online = _open_times(username, cases[0], args.opens)
    p50, p95 = percentile(offline, 50), percentile(offline, 95)
    print(
        f"offline open p50 {p50:.0f} ms p95 {p95:.0f} ms max {max(offline):.0f} ms; "
        f"online p50 {percentile(online, 50):.0f} ms"
    )
    report(
        [
            Result(
                bench="field app shell, gzip",
                size=len(shell),
                unit="KiB",
                linli=shell_kb,
                baseline=None,
                higher_is_better=False,
                goal=f"<= {GOAL_KB} KB",
                goal_met=shell_kb <= GOAL_KB,
                notes=f"{len(shell)} responses; Leaflet {map_kb:.1f} KiB gzip apart",
                extra={"map_kib": map_kb},
            ),
            Result(
                bench="field cached page opened offline",
                size=args.opens,
                unit="ms p95",
                linli=p95,
                baseline=percentile(online, 95),
                baseline_name="same page online (network first)",
                higher_is_better=False,
                goal=f"<= {GOAL_OPEN_MS} ms",
                goal_met=max(offline) <= GOAL_OPEN_MS,
                extra={
                    "p50_ms": p50,
                    "max_ms": max(offline),
                    "online_p50_ms": percentile(online, 50),
                },
            ),
        ],
        name="field-shell",
    )
    shutil.rmtree(os.environ["LINLI_DATA_DIR"], ignore_errors=True)


if __name__ == "__main__":
    main()
