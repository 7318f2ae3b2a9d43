"""The resident's home page (issue 23): server time p99 at 100 requests per second.

Prepares (once) a data folder with a small street: one community, a building, a resident
bound to a registry person and household, ``--notices`` notices over the street and the
community, ``--reports`` reports of the resident in the case loop. Then:

1. in process, warm: the home page through Django's whole middleware stack with the test
   client, one request at a time (the server time proper, no queueing) → p50 / p99;
2. over HTTP against ``linli serve`` (``--workers`` processes): an open-loop client offering
   ``--rate`` requests per second for ``--seconds``, latency counted from each request's due
   time (queueing included, so an upper bound of the server time) → p50 / p99.

The goal is p99 ≤ 100 ms at 100 req/s. The baseline column of the HTTP line is the in-process
p99 (what the page costs with no load at all).

    .venv/bin/python -m benchmarks.bench_portal_home [--data-dir /tmp/linli-bench-portal] [--rate 100]
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_mixed_load import free_port, server
from benchmarks.harness import Result, percentile, report, time_calls

GOAL_MS = 100.0
PHONE = "13800138000"


def _setup(data_dir: str) -> None:
    os.environ["LINLI_DATA_DIR"] = data_dir
    os.environ.pop("LINLI_TESTING", None)
    os.environ.pop("LINLI_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _area(level: int, code: str, name: str, parent: Any, boundary: Any = None) -> Any:
    from linli.geo.models import Area

    area = Area.objects.filter(code=code).first()
    if area is None:
        area = Area.objects.create(level=level, code=code, name=name, parent=parent, path="", boundary=boundary)
        area.path = f"{parent.path if parent else '/'}{area.pk}/"
        area.save(update_fields=["path"])
    return area


def _seed(*, notices: int, reports: int) -> Any:
    """The resident (created once, with their notices and reports)."""
    from django.utils import timezone

    from linli.accounts.choices import Role
    from linli.accounts.models import User
    from linli.core import pii
    from linli.core.actors import SystemActor
    from linli.geo.choices import AreaLevel
    from linli.portal.choices import NoticeKind, ProfileStatus
    from linli.portal.models import PII_PORTAL_PHONE, Notice, ResidentProfile
    from linli.portal.services import phone_index, report_submit
    from linli.registry.services import (
        building_create,
        household_create,
        person_create,
        room_create,
        unit_create,
    )

    existing = ResidentProfile.objects.select_related("user").filter(phone_bidx=phone_index(PHONE)).first()
    if existing is not None:
        return existing.user
    seed = SystemActor("bench:portal")
    ring = [[120.30, 30.30], [120.31, 30.30], [120.31, 30.31], [120.30, 30.31], [120.30, 30.30]]
    district = _area(AreaLevel.DISTRICT, "339901", "基准区", None)
    street = _area(AreaLevel.STREET, "339901001", "基准街道", district)
    community = _area(AreaLevel.COMMUNITY, "339901001001", "基准社区", street)
    grid = _area(AreaLevel.GRID, "339901001001001", "基准网格", community, {"type": "Polygon", "coordinates": [ring]})
    building = building_create(actor=seed, grid=grid, name="1幢", address="基准路1号1幢", lon=120.305, lat=30.305)
    room = room_create(actor=seed, unit=unit_create(actor=seed, building=building, number=1), floor=1, number="101")
    household = household_create(actor=seed, number="BENCH-1", room=room)
    person = person_create(actor=seed, name="基准居民", id_number=None, phone=PHONE, hukou="local", room=room,
                           household=household, relation="head")
    user = User.objects.create_user(username="bench-resident", password=None, role=Role.RESIDENT,
                                    display_name="基准居民")
    ResidentProfile.objects.create(
        user=user, phone_enc=pii.encrypt(PHONE, field=PII_PORTAL_PHONE), phone_bidx=phone_index(PHONE),
        phone_masked=pii.mask_phone(PHONE), status=ProfileStatus.BOUND, community=community, room=room,
        person=person, household=household)
    now = timezone.now()
    kinds = list(NoticeKind.values)
    Notice.objects.bulk_create([
        Notice(area=community if i % 2 else street, kind=kinds[i % len(kinds)], title=f"通知{i}", body="正文" * 50,
               period="2026-Q4", published_at=now, read_count=0) for i in range(notices)])
    for i in range(reports):
        report_submit(user=user, category="1101", description=f"基准反映{i}")
    return user


def _cookie(user: Any) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def _in_process(user: Any, repeat: int) -> list[float]:
    from django.test import Client

    client = Client()
    client.force_login(user)
    for _ in range(20):  # warm
        assert client.get("/portal/").status_code == 200
    return time_calls(lambda: client.get("/portal/"), repeat=repeat)


def _open_loop(port: int, cookie: str, *, rate: float, seconds: float, connections: int) -> dict[str, float]:
    count = int(rate * seconds)
    interval = 1 / rate
    start = time.perf_counter() + 0.5
    samples: list[float] = []
    errors = 0
    lock = threading.Lock()
    cursor = iter(range(count))

    def run() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            due = start + index * interval
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)  # open loop: the request is due at its time
            status = 0
            try:
                conn.request("GET", "/portal/", headers={"Cookie": cookie})
                answer = conn.getresponse()
                answer.read()
                status = answer.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                samples.append((time.perf_counter() - due) * 1000)
                errors += status != 200

    threads = [threading.Thread(target=run) for _ in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - began - 0.5
    return {"achieved": len(samples) / max(took, 1e-9), "errors": float(errors), "p50": percentile(samples, 50),
            "p95": percentile(samples, 95), "p99": percentile(samples, 99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "linli-bench-portal"))
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--notices", type=int, default=200)
    parser.add_argument("--reports", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    _setup(args.data_dir)
    user = _seed(notices=args.notices, reports=args.reports)
    inproc = _in_process(user, args.repeat)
    cookie = _cookie(user)
    from django.db import connection

    connection.close()  # the server processes own the SQLite file from here
    env = {**os.environ, "LINLI_DATA_DIR": args.data_dir, "LINLI_ACCESS_LOG": "false"}
    port = free_port()
    with server(env, port, args.workers, None):
        _open_loop(port, cookie, rate=20, seconds=3, connections=4)  # warm the workers
        figures = _open_loop(port, cookie, rate=args.rate, seconds=args.seconds, connections=args.connections)
    in_p99 = percentile(inproc, 99)
    results = [
        Result(bench="portal home, in process (server time)", size=args.repeat, unit="ms p99", linli=in_p99,
               baseline=None, higher_is_better=False, goal=f"p99 ≤ {GOAL_MS:.0f} ms", goal_met=in_p99 <= GOAL_MS,
               extra={"p50": percentile(inproc, 50)}),
        Result(bench=f"portal home over HTTP @{args.rate:.0f}/s w={args.workers}", size=int(args.rate * args.seconds),
               unit="ms p99", linli=figures["p99"], baseline=in_p99, baseline_name="in-process p99, no load",
               higher_is_better=False, goal=f"p99 ≤ {GOAL_MS:.0f} ms at {args.rate:.0f} req/s, 0 errors",
               goal_met=figures["p99"] <= GOAL_MS and figures["errors"] == 0, extra=figures),
    ]
    print(f"in process: p50 {percentile(inproc, 50):.1f} ms, p99 {in_p99:.1f} ms; over HTTP at {args.rate:.0f}/s: "
          f"achieved {figures['achieved']:.1f}/s, errors {figures['errors']:.0f}, p50 {figures['p50']:.1f} "
          f"p95 {figures['p95']:.1f} p99 {figures['p99']:.1f} ms", flush=True)
    report(results, name="portal_home")


if __name__ == "__main__":
    main()
