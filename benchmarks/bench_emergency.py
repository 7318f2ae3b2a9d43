"""Emergency mode: polygon → every household inside, over HTTP, against a naive room scan.

    .venv/bin/python -m benchmarks.bench_emergency --persons 300000
    LINLI_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/linli_bench_emergency \\
        .venv/bin/python -m benchmarks.bench_emergency --persons 300000

1. Seeds (or reuses, in ``LINLI_DATA_DIR``, default ``/tmp/linli-bench-emergency``) the
   registry of ``benchmarks.bench_search``: 376 grids, 15,000 buildings spread over
   0.1° × 0.1° (≈ 107 km²), persons with real AES-GCM encryption in random rooms; then one
   household per occupied room and emergency tags on ~6 % of persons (plain SQL).
2. A district operator (session made directly in the session table) and a 2.0 km² square
   in the middle of the district (≈ 5,500 residents at 300,000 persons).
3. Serves linli with granian (WSGI, 1 worker, 4 threads, as ``bench_intake_http`` does) and
   POSTs the square to ``/cockpit/emergency/households.json`` over one keep-alive
   connection: p50/p99 of the server time of each request (the growth of ``/metrics``'
   latency sum between two scrapes; the goal's figure) and of the round trip on loopback. The
   answer is the first screen (``--limit`` households, vulnerable first) with the area's
   full counts; paging through every screen in-process gives the full roster's households.
4. Baseline, same run, in-process: every room in scope with its building's position,
   checked point by point, then the same households and residents read for the rooms
   inside; compared with ``area_roster_for_user`` in-process, same answer asserted.
5. With ``--compare-tree DIR`` (another checkout, e.g. ``git worktree add --detach
   /tmp/old cf06489``): that version's first screen (selector and JSON body) and this one's,
   alternated 30 times in-process (same answer asserted).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks import bench_intake_http, bench_mixed_load, bench_search
from benchmarks.harness import Result, percentile, report

PATH = "/cockpit/emergency/households.json"
CENTER = (120.25, 30.25)
SIDE_M = 1414.2  # a 2.0 km² square
GOAL_P99_MS = 20


def square() -> dict[str, Any]:
    import math

    dlat = SIDE_M / 2 / 111_195
    dlon = dlat / math.cos(math.radians(CENTER[1]))
    w, e, s, n = CENTER[0] - dlon, CENTER[0] + dlon, CENTER[1] - dlat, CENTER[1] + dlat
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


# The tables the seeding writes; their triggers (digest stamps, household sizes, the care
# sweep's change list) are off while the bench loads them and their results made set-wise after.
SEEDED_TABLES = ("registry_building", "registry_unit", "registry_room", "registry_person", "registry_household",
                 "registry_persontag")


@contextmanager
def _seed_without_triggers(*, needed: bool) -> Iterator[None]:
    """The bench's own bulk load without the registry's triggers, then what they keep, set-wise.

    On PostgreSQL ``executemany`` sends one INSERT per row, so each statement-level trigger
    ran per person (a 300,000-person seed crawled at ~1,000 persons a minute); SQLite's row
    triggers cost as much per row. The triggers keep: every building's digest stamp (all
    stamped anew here: the worker's refresh then rebuilds every digest), each household's
    living members (counted in one UPDATE) and the care sweep's change list (the bench does
    not run the sweep). PostgreSQL: ``session_replication_role = replica`` (foreign keys
    unchecked as well: the seeding writes consistent ids); SQLite: the triggers of these tables
    dropped and created again from their stored SQL."""
    from django.db import connection

    if not needed:  # a seeded registry is reused as it is
        yield
        return
    saved: list[str] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        else:
            marks = ", ".join(["%s"] * len(SEEDED_TABLES))
            cursor.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "  # noqa: S608 -- placeholders
                           f"AND tbl_name IN ({marks})", list(SEEDED_TABLES))
            for name, sql in cursor.fetchall():
                saved.append(sql)
                cursor.execute(f'DROP TRIGGER "{name}"')
    try:
        yield
        with connection.cursor() as cursor:
            cursor.execute("UPDATE registry_household SET living_members = (SELECT count(*) FROM registry_person p "
                           "WHERE p.household_id = registry_household.id AND NOT p.is_deceased)")
            cursor.execute("INSERT INTO registry_buildingdigest (building_id, stamp, version, households, residents, "
                           "vulnerable, by_kind, vulnerable_rows) SELECT id, 0, 0, 0, 0, 0, '{}', '[]' "
                           "FROM registry_building WHERE id NOT IN (SELECT building_id FROM registry_buildingdigest)")
            cursor.execute("UPDATE registry_buildingdigest SET stamp = stamp + 1, built_stamp = NULL")
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("RESET session_replication_role")
            for sql in saved:
                cursor.execute(sql)


def _seed_households_and_tags() -> None:
    from django.db import connection, transaction

    from linli.registry.models import Household

    if Household.objects.exists():
        print("reusing households and tags")
        return
    started = time.perf_counter()
    now = "2026-01-01 00:00:00"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO registry_household (created_at, updated_at, number, room_id, grid_id, head_id) "
            "SELECT %s, %s, 'H' || r.id, r.id, b.grid_id, NULL FROM registry_room r "
            "JOIN registry_building b ON b.id = r.building_id "
            "WHERE EXISTS (SELECT 1 FROM registry_person p WHERE p.room_id = r.id)", [now, now])
        cursor.execute(
            "UPDATE registry_person SET household_id = "
            "(SELECT h.id FROM registry_household h WHERE h.room_id = registry_person.room_id)")
        kinds = ["living_alone_elder", "disabled", "oldest_old", "subsistence", "left_behind_child", "bedridden",
                 "pregnant"]
        case = " ".join(f"WHEN {i} THEN '{k}'" for i, k in enumerate(kinds))
        cursor.execute(
            "INSERT INTO registry_persontag (created_at, updated_at, person_id, kind, source, valid_from, "  # noqa: S608 -- constants only
            f"valid_to, note) SELECT %s, %s, id, CASE (id / 17) %% 7 {case} END, 'bench', '2020-01-01', NULL, '' "
            "FROM registry_person WHERE id %% 17 = 0", [now, now])
    with connection.cursor() as cursor:  # PostgreSQL's VACUUM refuses to run in a transaction
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    print(f"seeded {Household.objects.count():,} households and tags in {time.perf_counter() - started:.0f} s")


def _operator_session() -> tuple[Any, str]:
    """A district admin and a session key for them (no login round trip to measure)."""
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore

    from linli.accounts.choices import AssignmentKind, Role
    from linli.accounts.models import AreaAssignment, User
    from linli.geo.choices import AreaLevel
    from linli.geo.models import Area

    user, created = User.objects.get_or_create(username="bench_district", defaults={"role": Role.DISTRICT_ADMIN})
    if created:
        user.set_unusable_password()
        user.save()
        district = Area.objects.get(level=AreaLevel.DISTRICT)
        AreaAssignment.objects.create(user=user, area=district, kind=AssignmentKind.MEMBER)
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[0]
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session["linli_last_seen"] = time.time()
    session.create()
    return user, str(session.session_key)


def naive_roster(user: Any, shape: dict[str, Any]) -> tuple[int, int]:
    """Every room in scope, its building's point checked one by one; then the same reads."""
    from linli.accounts.selectors import scope_for
    from linli.cockpit import workflow
    from linli.registry.models import Household, Person, Room

    ring = workflow.shape_ring(shape)
    grids = sorted(scope_for(user).grid_ids)
    inside = [room.pk for room in Room.objects.filter(building__grid_id__in=grids).select_related("building")
              if workflow.point_in_ring(room.building.lon, room.building.lat, ring)]
    households = list(Household.objects.filter(room_id__in=inside).values_list("id", "number", "room_id"))
    persons = list(Person.objects.filter(room_id__in=inside, is_deceased=False, household_id__isnull=False)
                   .values_list("id", "name", "phone_masked", "household_id"))
    return len(households), len(persons)


def _old_roster_json(page: Any) -> bytes:
    """The answer as main's view (cf06489) made it: the page's objects into a dict, one dumps."""
    body = {
        "households": page.households, "residents": page.residents, "vulnerable": page.vulnerable,
        "offset": page.offset, "next_offset": page.next_offset,
        "buildings": [{"id": b.pk, "address": b.address, "lon": b.lon, "lat": b.lat,
                       "worker": (w.display_name or w.username) if (w := page.workers.get(b.grid_id)) else None}
                      for b in page.buildings],
        "columns": ["id", "building", "unit", "floor", "room", "number", "priority", "kinds", "members"],
        "member_columns": ["id", "name", "phone", "kinds"],
        "rows": [[h.household_id, h.building_id, h.unit_number, h.floor, h.room_number, h.number, h.priority,
                  h.kinds, [[m.person_id, m.name, m.phone_masked, m.kinds] for m in h.members]] for h in page.page],
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _load(name: str, path: Path) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def interleaved(old_tree: str, user: Any, shape: dict[str, Any], limit: int, runs: int) -> dict[str, float]:
    """The JSON answer's body (selector and encoding, what the view does), another checkout's
    code (``git worktree add --detach /tmp/old REV``) against this one, alternated in one
    process on the same data: on a loaded machine the load drifts between two separate runs,
    not between two calls a few milliseconds apart. The other checkout's
    ``linli/cockpit/selectors.py`` and ``linli/registry/services/digests.py`` are loaded
    (its digest version set to this one's, so both read the same current digests: the
    ``vulnerable_rows`` and ``screen_rows`` it reads are still stored in the same form); its body
    is made by its own ``views._roster_json`` when it has the screen selector, else as main's
    view made it before (``_old_roster_json``). Same decoded answer asserted; wall and CPU time."""
    import statistics

    from linli.cockpit import selectors as new
    from linli.cockpit import views
    from linli.registry.services import digests

    old_digests = _load("linli_registry_digests_other", Path(old_tree) / "linli/registry/services/digests.py")
    old_digests.DIGEST_VERSION = digests.DIGEST_VERSION
    old = _load("linli_cockpit_selectors_other", Path(old_tree) / "linli/cockpit/selectors.py")
    old.building_digests = old_digests.building_digests

    old_views = (_load("linli_cockpit_views_other", Path(old_tree) / "linli/cockpit/views.py")
                 if hasattr(old, "area_roster_screen_for_user") else None)

    def body(name: str) -> bytes:
        if name == "other" and old_views is not None:  # its own view's body
            return bytes(old_views._roster_json(old.area_roster_screen_for_user(user=user, shape=shape, limit=limit)))
        if name == "other":
            return _old_roster_json(old.area_roster_page_for_user(user=user, shape=shape, limit=limit))
        return views._roster_json(new.area_roster_screen_for_user(user=user, shape=shape, limit=limit))

    if json.loads(body("other")) != json.loads(body("this")):
        sys.exit("the other checkout gives another first screen")
    times: dict[str, tuple[list[float], list[float]]] = {"other": ([], []), "this": ([], [])}
    for i in range(runs):
        pair = ["other", "this"]
        for name in pair if i % 2 == 0 else pair[::-1]:
            wall, cpu = time.perf_counter(), time.process_time()
            body(name)
            times[name][0].append((time.perf_counter() - wall) * 1000)
            times[name][1].append((time.process_time() - cpu) * 1000)
    figures = {f"{name}_{kind}_p50_ms": statistics.median(values)
               for name, (wall, cpu) in times.items() for kind, values in (("wall", wall), ("cpu", cpu))}
    print("interleaved first screen (selector + JSON body) p50, other → this: wall {other_wall_p50_ms:.1f} → "
          "{this_wall_p50_ms:.1f} ms, this process's CPU {other_cpu_p50_ms:.1f} → {this_cpu_p50_ms:.1f} ms"
          .format(**figures))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=300_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--baseline-runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--limit", type=int, default=200, help="households on the first screen")
    parser.add_argument("--compare-tree", metavar="DIR",
                        help="another checkout (git worktree add --detach DIR REV) to time against this one, "
                             "interleaved in-process")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="cProfile N first screens in-process (process time) and print the top functions")
    parser.add_argument("--seed-only", action="store_true", help="seed (or reuse) the registry, then stop")
    args = parser.parse_args()
    os.environ.setdefault("LINLI_DATA_DIR", "/tmp/linli-bench-emergency")  # noqa: S108 -- a bench scratch dir
    Path(os.environ["LINLI_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    bench_search._setup_django()
    from django.core.management import call_command
    from django.db import connection

    from linli.cockpit.selectors import area_roster_for_user, area_roster_page_for_user

    call_command("migrate", verbosity=0)
    from linli.registry.models import Household, Person

    with _seed_without_triggers(needed=Person.objects.count() < args.persons or not Household.objects.exists()):
        bench_search._seed(args.persons, seed=20260101)
        _seed_households_and_tags()
    if args.seed_only:
        return
    user, session_key = _operator_session()
    shape = square()
    # The worker's refresh (nightly, and after writes): every stale digest of the registry.
    from linli.registry.services.digests import building_digests_refresh

    t0, c0 = time.perf_counter(), time.process_time()
    rebuilt = building_digests_refresh()
    print(f"worker refresh: {rebuilt:,} stale digests rebuilt in {time.perf_counter() - t0:.1f} s "
          f"({time.process_time() - c0:.1f} s CPU here); load average {os.getloadavg()[0]:.2f}")

    roster = area_roster_for_user(user=user, shape=shape)
    paged: list[int] = []
    offset: int | None = 0
    while offset is not None:
        screen = area_roster_page_for_user(user=user, shape=shape, offset=offset, limit=1000)
        paged += [h.household_id for h in screen.page]
        offset = screen.next_offset
    if sorted(paged) != sorted(h.household_id for h in roster.households):
        sys.exit("the pages do not give the roster's households")
    compared = interleaved(args.compare_tree, user, shape, args.limit, 30) if args.compare_tree else {}
    # Cold: every digest of the area stamped stale (as after a write to each building, or
    # on a new day), so the first screen rebuilds all of them.
    from django.db.models import F

    from linli.registry.models import BuildingDigest

    area_ids = [b.pk for b in area_roster_page_for_user(user=user, shape=shape, limit=1).buildings]
    cold = []
    for _ in range(5):
        BuildingDigest.objects.filter(building_id__in=area_ids).update(stamp=F("stamp") + 1)
        t0 = time.perf_counter()
        area_roster_page_for_user(user=user, shape=shape, limit=args.limit)
        cold.append((time.perf_counter() - t0) * 1000)
    print(f"in-process first screen, every digest of the area stale: p50 {percentile(cold, 50):.1f} ms")
    from linli.cockpit.selectors import area_roster_screen_for_user
    from linli.cockpit.views import _roster_json

    # The view's own work (selector and JSON body), wall and this process's CPU.
    inproc, inproc_cpu = [], []
    for _ in range(50):
        t0, c0 = time.perf_counter(), time.process_time()
        _roster_json(area_roster_screen_for_user(user=user, shape=shape, limit=args.limit))
        inproc.append((time.perf_counter() - t0) * 1000)
        inproc_cpu.append((time.process_time() - c0) * 1000)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(args.profile):
            _roster_json(area_roster_screen_for_user(user=user, shape=shape, limit=args.limit))
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    print(f"in-process first screen (selector + JSON body): wall p50 {percentile(inproc, 50):.1f} ms, "
          f"CPU p50 {percentile(inproc_cpu, 50):.1f} ms p99 {percentile(inproc_cpu, 99):.1f} ms; "
          f"load average {os.getloadavg()[0]:.2f}")
    full = []
    for _ in range(args.baseline_runs):
        t0 = time.perf_counter()
        area_roster_for_user(user=user, shape=shape)
        full.append((time.perf_counter() - t0) * 1000)
    naive = []
    for _ in range(args.baseline_runs):
        t0 = time.perf_counter()
        found = naive_roster(user, shape)
        naive.append((time.perf_counter() - t0) * 1000)
    if naive and found != (len(roster.households), roster.residents):
        sys.exit(f"naive and linli disagree: {found} vs {(len(roster.households), roster.residents)}")
    print(f"area: {len(roster.buildings)} buildings, {len(roster.households):,} households, "
          f"{roster.residents:,} residents, {len(roster.vulnerable):,} vulnerable households")
    print(f"in-process first screen p50 {percentile(inproc, 50):.1f} ms; whole roster p50 "
          f"{percentile(full, 50):.1f} ms; naive p50 {percentile(naive, 50):.1f} ms")
    connection.close()

    env = {**os.environ, "LINLI_METRICS_TOKEN": bench_mixed_load.METRICS_TOKEN}
    port = bench_intake_http.free_port()
    token = secrets.token_hex(16)  # 32 characters: Django accepts the unmasked secret
    headers = {"Content-Type": "application/json", "X-CSRFToken": token,
               "Cookie": f"sessionid={session_key}; csrftoken={token}"}
    body = json.dumps({"shape": shape}).encode()
    samples: list[float] = []
    served: list[float] = []
    size = 0
    with bench_intake_http.server(env, port, 1, args.threads, 128):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        totals = bench_mixed_load.server_totals(port)
        for i in range(args.requests + 20):
            t0 = time.perf_counter()
            conn.request("POST", f"{PATH}?limit={args.limit}", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            elapsed = (time.perf_counter() - t0) * 1000
            if response.status != 200:
                sys.exit(f"HTTP {response.status}: {payload[:300]!r}")
            # Server time of this one request: the requests are sequential, so the growth
            # of the latency histogram's sum between two scrapes is exactly its duration.
            after = bench_mixed_load.server_totals(port)
            if i >= 20:  # the first requests warm the worker
                samples.append(elapsed)
                served.append(bench_mixed_load.server_time(totals, after)["all"])
            totals = after
            size = len(payload)
        answer = json.loads(payload)
        assert answer["households"] == len(roster.households)
    p99 = percentile(served, 99)
    http_p99 = percentile(samples, 99)
    naive_p50 = percentile(naive, 50)
    load = os.getloadavg()
    print(f"HTTP round trip p50 {percentile(samples, 50):.1f} ms  p99 {http_p99:.1f} ms  ({size / 1024:.0f} KiB JSON)")
    print(f"server time (/metrics) p50 {percentile(served, 50):.1f} ms  p99 {p99:.1f} ms; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    report([Result(
        bench="emergency polygon → households (HTTP server time, district operator)", size=args.persons,
        unit="ms p99",
        linli=p99, baseline=naive_p50, baseline_name="naive point-in-polygon per room (in-process p50)",
        higher_is_better=False, goal=f"p99 <= {GOAL_P99_MS} ms", goal_met=p99 <= GOAL_P99_MS,
        notes=(f"{roster.residents:,} residents / {len(roster.households):,} households in 2.0 km², "
               f"first screen of {args.limit} households; "
               f"{args.requests} requests, 1 keep-alive connection; JSON {size / 1024:.0f} KiB"),
        extra={"server_p50_ms": percentile(served, 50), "http_p50_ms": percentile(samples, 50),
               "http_p99_ms": http_p99, "load_1m": load[0], "inprocess_p50_ms": percentile(inproc, 50),
               "inprocess_p99_ms": percentile(inproc, 99),
               "inprocess_cpu_p50_ms": percentile(inproc_cpu, 50), "naive_p50_ms": naive_p50,
               "cold_inprocess_p50_ms": percentile(cold, 50),
               "ratio_inprocess": naive_p50 / percentile(inproc, 50), "whole_roster_p50_ms": percentile(full, 50),
               "ratio_whole_roster": naive_p50 / percentile(full, 50), **compared},
    )], name=f"emergency-{connection.vendor}")


if __name__ == "__main__":
    main()
