"""Mixed read load as a logged-in street user (issue #15, "Load").

The shape the issue measured: person search 50 %, case lists 30 %, other pages 20 %, as the
demo's ``street`` user, against ``linli serve`` on a prepared demo data folder (SQLite) or a
demo database (PostgreSQL). The client is open loop and bounded: requests are due at a fixed
rate whether or not earlier ones came back, latency counts from the due time (no coordinated
omission), and at most ``--outstanding`` requests per client process are in flight; a request
that could not even start within 1 s of its due time counts as an error ("dropped").

For each rate of ``--rates`` it prints achieved requests per second, errors, p50/p95/p99 and
the p95 of each kind of request, then the highest rate that met the goal (0 errors, p95 ≤
200 ms, p99 ≤ 500 ms). The baseline column is the same server's single-client closed loop
(one request at a time), so the table says how much concurrency the server turns into rate.

Prepare the data once (minutes), then measure as often as needed:

    LINLI_DATA_DIR=/tmp/mixed linli demo --no-serve
    .venv/bin/python -m benchmarks.bench_mixed_load --data-dir /tmp/mixed --rates 30,60,90
    # PostgreSQL (database prepared the same way with LINLI_DATABASE_URL set), 2 web workers:
    .venv/bin/python -m benchmarks.bench_mixed_load --data-dir /tmp/mixed-pg \\
        --database-url postgresql://postgres@127.0.0.1:5432/linli_mixed --workers 2 --rates 60,150
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import re
import socket
import threading
import time
import urllib.parse
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import Result, linli_process, percentile, report

PROJECT = Path(__file__).resolve().parents[1]
USERNAME = "street"
PASSWORD = "Linli@2026"  # noqa: S105 -- the demo's published password
# Everyday search words of a clerk: surnames, a given-name character, a compound.
SEARCH_WORDS = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高",
                "林", "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧",
                "建国", "秀英", "桂英", "志强", "丽"]
CASE_LISTS = ["/cases/", "/cases/all/", "/cases/all/?status=dispatched", "/cases/all/?status=closed",
              "/cases/all/?q=" + urllib.parse.quote("垃圾"), "/cases/statistics/"]
KINDS = ("search", "cases", "page")
MIX = (0.5, 0.3, 0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server(env: dict[str, str], port: int, workers: int, threads: int | None) -> AbstractContextManager[None]:
    command = ["serve", "--port", str(port), "--workers", str(workers)]
    return linli_process([*command, "--threads", str(threads)] if threads else command, env=env, port=port,
                         ready_path="/login/")


def login(port: int) -> str:
    """The session cookie of the demo's street user (through the login form, CSRF and all)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login/")
    page = conn.getresponse()
    html = page.read().decode()
    cookies = {c.split("=", 1)[0]: c.split("=", 1)[1].split(";", 1)[0]
               for c in page.headers.get_all("Set-Cookie") or []}
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if token is None:
        raise SystemExit("no CSRF token on /login/")
    body = urllib.parse.urlencode({"username": USERNAME, "password": PASSWORD,
                                   "csrfmiddlewaretoken": token.group(1)})
    conn.request("POST", "/login/", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://127.0.0.1:{port}/login/",
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
    answer = conn.getresponse()
    answer.read()
    for cookie in answer.headers.get_all("Set-Cookie") or []:
        name, value = cookie.split(";", 1)[0].split("=", 1)
        cookies[name] = value
    if answer.status != 302 or "sessionid" not in cookies:
        raise SystemExit(f"login as {USERNAME} failed ({answer.status}): is the data folder a seeded demo?")
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def page_paths(port: int, cookie: str) -> list[str]:
    """Person and case pages the street user may open, found through the pages themselves."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    found: list[str] = ["/"]
    for path in ("/search/?q=" + urllib.parse.quote("王"), "/cases/all/"):
        conn.request("GET", path, headers={"Cookie": cookie})
        html = conn.getresponse().read().decode()
        found += sorted(set(re.findall(r'href="(/(?:persons|cases)/\d+/)"', html)))[:20]
    found += ["/areas/", "/services/"]
    return found


METRICS_TOKEN = "bench-mixed-load"  # noqa: S105 -- a token for this benchmark's own server
_SERIES = re.compile(r'^linli_http_request_duration_seconds_(sum|count)\{view="([^"]*)"\} ([0-9.e+-]+)$', re.M)


def server_totals(port: int) -> dict[str, tuple[float, float]]:
    """{view: (seconds, requests)} so far, summed over the workers (``/metrics``)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    text = conn.getresponse().read().decode()
    totals: dict[str, list[float]] = {}
    for kind, view, value in _SERIES.findall(text):
        totals.setdefault(view, [0.0, 0.0])[0 if kind == "sum" else 1] += float(value)
    return {view: (seconds, count) for view, (seconds, count) in totals.items()}


def server_time(before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Mean server time (ms) per view between two scrapes, and ``all`` over every view."""
    out: dict[str, float] = {}
    seconds = count = 0.0
    for view, (s_after, c_after) in after.items():
        s_before, c_before = before.get(view, (0.0, 0.0))
        if c_after > c_before and not view.startswith("ops:"):
            out[view] = (s_after - s_before) / (c_after - c_before) * 1000
            seconds += s_after - s_before
            count += c_after - c_before
    out["all"] = seconds / count * 1000 if count else 0.0
    return out


@dataclass(frozen=True)
class Plan:
    port: int
    cookie: str
    rate: float
    seconds: float
    outstanding: int
    seed: int
    pages: tuple[str, ...]


def _request_for(rng: random.Random, pages: tuple[str, ...]) -> tuple[str, str]:
    draw = rng.random()
    if draw < MIX[0]:
        return "search", "/search/?q=" + urllib.parse.quote(rng.choice(SEARCH_WORDS))
    if draw < MIX[0] + MIX[1]:
        return "cases", rng.choice(CASE_LISTS)
    return "page", rng.choice(pages)


def _client_process(plan: Plan) -> tuple[list[tuple[str, float]], int, int]:
    """One client process: ``plan.rate`` req/s over ``plan.outstanding`` keep-alive connections."""
    rng = random.Random(plan.seed)
    count = int(plan.rate * plan.seconds)
    interval = 1 / plan.rate
    schedule = [_request_for(rng, plan.pages) for _ in range(count)]
    start = time.perf_counter() + 0.5
    samples: list[tuple[str, float]] = []
    errors = dropped = 0
    lock = threading.Lock()
    cursor = iter(range(count))

    def run() -> None:
        nonlocal errors, dropped
        conn = http.client.HTTPConnection("127.0.0.1", plan.port, timeout=30)
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            due = start + index * interval
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            elif delay < -1.0:
                with lock:
                    dropped += 1
                continue
            kind, path = schedule[index]
            status = 0
            try:
                conn.request("GET", path, headers={"Cookie": plan.cookie})
                answer = conn.getresponse()
                answer.read()
                status = answer.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", plan.port, timeout=30)
            elapsed = (time.perf_counter() - due) * 1000
            with lock:
                samples.append((kind, elapsed))
                if status != 200:
                    errors += 1

    pool = [threading.Thread(target=run) for _ in range(plan.outstanding)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return samples, errors, dropped


def run_rate(port: int, cookie: str, pages: list[str], *, rate: float, seconds: float, processes: int,
             outstanding: int) -> dict[str, float]:
    plans = [Plan(port, cookie, rate / processes, seconds, outstanding, 1000 + n, tuple(pages))
             for n in range(processes)]
    started = time.perf_counter()
    # spawn, not fork: the parent holds threads (issue #15.3's lesson applies to benchmarks too).
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        results = pool.map(_client_process, plans)
    took = time.perf_counter() - started - 0.5
    samples = [s for r in results for s in r[0]]
    errors = sum(r[1] for r in results)
    dropped = sum(r[2] for r in results)
    latencies = [ms for _, ms in samples]
    figures = {
        "offered": rate, "achieved": len(samples) / max(took, 1e-9), "errors": float(errors + dropped),
        "dropped": float(dropped), "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
    }
    for kind in KINDS:
        figures[f"p95_{kind}"] = percentile([ms for k, ms in samples if k == kind], 95)
    return figures


def closed_loop_rate(port: int, cookie: str, pages: list[str], seconds: float) -> float:
    """One request at a time, same mix: the rate with no concurrency at all."""
    rng = random.Random(7)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    done = 0
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        _, path = _request_for(rng, tuple(pages))
        conn.request("GET", path, headers={"Cookie": cookie})
        conn.getresponse().read()
        done += 1
    return done / seconds


def met(figures: dict[str, float]) -> bool:
    return figures["errors"] == 0 and figures["p95"] <= 200 and figures["p99"] <= 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="a LINLI_DATA_DIR prepared by `linli demo --no-serve`")
    parser.add_argument("--database-url", default="", help="PostgreSQL demo database (default: the folder's SQLite)")
    parser.add_argument("--workers", type=int, default=1, help="web worker processes of linli serve")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (default: the setting)")
    parser.add_argument("--rates", default="30,60,90", help="offered requests per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--outstanding", type=int, default=32, help="connections per client process")
    args = parser.parse_args()

    env = {**os.environ, "LINLI_DATA_DIR": args.data_dir, "LINLI_ACCESS_LOG": "false",
           "LINLI_METRICS_TOKEN": METRICS_TOKEN}
    env.pop("LINLI_TESTING", None)
    if args.database_url:
        env["LINLI_DATABASE_URL"] = args.database_url
    else:
        env.pop("LINLI_DATABASE_URL", None)
    database = "postgresql" if args.database_url else "sqlite"
    port = free_port()
    results: list[Result] = []
    with server(env, port, args.workers, args.threads):
        cookie = login(port)
        pages = page_paths(port, cookie)
        # warm caches and connections: the first seconds of a fresh process are not the steady state
        run_rate(port, cookie, pages, rate=10, seconds=5, processes=1, outstanding=4)
        totals = server_totals(port)
        single = closed_loop_rate(port, cookie, pages, seconds=10)
        alone = server_time(totals, server_totals(port))
        print(f"one client, closed loop: {single:.1f} req/s, mean server time {alone['all']:.1f} ms a request "
              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
        best = 0.0
        for rate in (float(r) for r in args.rates.split(",")):
            load_before = os.getloadavg()[0]
            totals = server_totals(port)
            figures = run_rate(port, cookie, pages, rate=rate, seconds=args.seconds,
                               processes=args.processes, outstanding=args.outstanding)
            served = server_time(totals, server_totals(port))
            figures["server_ms"] = served["all"]
            figures["load_before"], figures["load_after"] = load_before, os.getloadavg()[0]
            ok = met(figures)
            if ok:
                best = max(best, figures["achieved"])
            print(f"{database} workers={args.workers} offered {rate:.0f}/s: achieved {figures['achieved']:.1f}/s "
                  f"errors {figures['errors']:.0f} (dropped {figures['dropped']:.0f}) p50 {figures['p50']:.0f} "
                  f"p95 {figures['p95']:.0f} p99 {figures['p99']:.0f} ms; p95 search {figures['p95_search']:.0f} "
                  f"cases {figures['p95_cases']:.0f} pages {figures['p95_page']:.0f} ms {'MET' if ok else ''}",
                  flush=True)
            print(f"    load average {load_before:.1f} → {figures['load_after']:.1f}; mean server time "
                  f"{served['all']:.1f} ms a request: " + ", ".join(
                      f"{view} {ms:.1f}" for view, ms in sorted(served.items(), key=lambda kv: -kv[1])
                      if view != "all"), flush=True)
            results.append(Result(
                bench=f"mixed load {database} w={args.workers} @{rate:.0f}/s", size=int(rate * args.seconds),
                unit="req/s", linli=figures["achieved"], baseline=single, baseline_name="one client, closed loop",
                goal="0 errors, p95 ≤ 200 ms, p99 ≤ 500 ms", goal_met=ok, extra=figures,
            ))
    goal = 150 if args.database_url else 60
    print(f"highest offered rate that met the latency goal: {best:.1f} req/s (goal ≥ {goal} on {database})")
    report(results, name=f"mixed_load_{database}")


if __name__ == "__main__":
    main()
