"""Case intake over HTTP: ``POST /api/v1/cases`` served by granian (WSGI, 2 workers).

    .venv/bin/python -m benchmarks.bench_intake_http
    LINLI_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/linli_bench_http \\
        .venv/bin/python -m benchmarks.bench_intake_http

What it does:
1. a throwaway data folder (and, by default, SQLite in it; with ``LINLI_DATABASE_URL`` that
   database, seeded once and reused), migrated and seeded with the small demo street
   (``demo_seed(residents=2000)``), plus an integration key with the ``cases.report`` scope;
2. starts ``granian --interface wsgi --workers 2`` on 127.0.0.1 and a free port, threads and
   backpressure bounded as ``linli serve`` does (``--threads``, the same default);
3. **max throughput**: closed loop, many keep-alive connections, a bounded number of
   requests (``wrk -c64`` for a fixed time when it is installed, ``apt-get install wrk``;
   otherwise client processes with ``http.client``), each POST a new case with its own
   ``Idempotency-Key`` at a random point of a random grid (so every request locates, dedups,
   registers and dispatches); many connections because group commit batches what arrives
   together (many gateways report at once);
4. **latency at half that rate**: open loop: requests are sent on a fixed schedule at half
   the measured maximum and latency is counted from the *scheduled* time, so a slow
   server is not hidden by the client waiting for it (no coordinated omission);
5. the same two measurements against a bare Django view, the login page (GET, template,
   session and CSRF middleware, no database write), as the baseline of this machine;
6. stops the server (its whole process group) whatever happens.

The client runs on the same machine as the server: on a small box it takes CPU from it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linli.cli import default_threads

PROJECT = Path(__file__).resolve().parents[1]
GRANIAN = PROJECT / ".venv" / "bin" / "granian"
INTAKE_PATH = "/api/v1/cases"
BASELINE_PATH = "/login/"
CATEGORIES = ("0101", "0102", "0601", "1101")
GOAL_RPS = 800
GOAL_P99_MS = 50


# --- The WSGI application granian imports --------------------------------------------------


def _wsgi_application() -> Any:
    """Django's WSGI app, as ``linli serve`` runs it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


if os.environ.get("LINLI_BENCH_SERVER") == "1":
    application = _wsgi_application()


# --- Setup -----------------------------------------------------------------------------------


@dataclass
class Fixture:
    api_key: str
    points: list[tuple[float, float]]  # grid centroids of the demo street


def prepare(env: dict[str, str]) -> Fixture:
    """Migrate, seed and mint a key in a child process (this process stays Django-free)."""
    code = (
        "import json, django, os;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'linli.settings'); django.setup();"
        "from benchmarks.bench_intake_http import _prepare_inside; print(json.dumps(_prepare_inside()))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=PROJECT, check=True,  # noqa: S603
                         capture_output=True, text=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return Fixture(api_key=data["api_key"], points=[tuple(p) for p in data["points"]])


def _prepare_inside() -> dict[str, Any]:
    import hashlib
    import secrets

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from linli.accounts.models import ApiKey
    from linli.core.actors import SystemActor
    from linli.demo.services import demo_seed
    from linli.geo.choices import AreaLevel
    from linli.geo.models import Area

    if not Area.objects.filter(level=AreaLevel.GRID).exists():
        demo_seed(actor=SystemActor("bench"), residents=2000)
    prefix = secrets.token_hex(4)
    raw = f"ll_{prefix}_{secrets.token_urlsafe(24)}"
    # Created directly: the key needs the ``cases.report`` scope, whatever API_SCOPES says.
    key = ApiKey.objects.create(name="bench intake", prefix=prefix, scopes=["cases.report"],
                                key_hash=hashlib.sha256(raw.encode()).hexdigest())
    key.areas.set(Area.objects.filter(level=AreaLevel.STREET))
    points = [
        (a.centroid_lon, a.centroid_lat)
        for a in Area.objects.filter(level=AreaLevel.GRID, centroid_lon__isnull=False)
    ]
    return {"api_key": raw, "points": points}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(env: dict[str, str], port: int, workers: int, threads: int, backpressure: int) -> Iterator[None]:
    """granian in its own process group, stopped with SIGTERM (then SIGKILL) on exit. Threads
    bounded as ``linli serve`` does (each holds a database connection); backpressure above
    the client's connection count: at or below it, keep-alive connections past the limit
    wait seconds for a slot, and that, not the server, made the p99."""
    log = open(Path(env["LINLI_DATA_DIR"]) / "granian.log", "wb")  # noqa: SIM115 -- closed below
    proc = subprocess.Popen(  # noqa: S603 -- our own venv's granian
        [str(GRANIAN), "--interface", "wsgi", "--workers", str(workers), "--blocking-threads", str(threads),
         "--backpressure", str(backpressure), "--host", "127.0.0.1", "--port", str(port), "--no-ws",
         "benchmarks.bench_intake_http:application"],
        cwd=PROJECT, env={**env, "LINLI_BENCH_SERVER": "1"}, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"granian exited with {proc.returncode}; see {log.name}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", BASELINE_PATH)
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("granian did not answer within 60 s")
            time.sleep(0.2)
        yield
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


# --- Requests ----------------------------------------------------------------------------------


class Client:
    """One keep-alive connection; ``call`` returns (status, seconds)."""

    def __init__(self, port: int, fixture: Fixture | None, seed: int, path: str) -> None:
        self.port, self.fixture, self.path = port, fixture, path
        self.random = random.Random(seed)
        self.prefix = f"b{seed}-{os.getpid()}-"
        self.count = 0
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def _body(self) -> tuple[str, bytes, dict[str, str]]:
        if self.fixture is None:
            return "GET", b"", {}
        lon, lat = self.random.choice(self.fixture.points)
        self.count += 1
        body = json.dumps({
            "source": "iot", "category": self.random.choice(CATEGORIES),
            "description": "物联感知告警:垃圾满溢", "level": 3,
            "lon": lon + self.random.uniform(-0.0005, 0.0005), "lat": lat + self.random.uniform(-0.0005, 0.0005),
        }).encode()
        headers = {"Content-Type": "application/json", "X-API-Key": self.fixture.api_key,
                   "Idempotency-Key": f"{self.prefix}{self.count}"}
        return "POST", body, headers

    def call(self) -> int:
        method, body, headers = self._body()
        for attempt in range(2):
            try:
                self.conn.request(method, self.path, body=body or None, headers=headers)
                response = self.conn.getresponse()
                response.read()
                return response.status
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        return 0  # pragma: no cover


def _closed_loop_worker(args: tuple[int, Fixture | None, str, int, int, int]) -> tuple[int, int, float]:
    port, fixture, path, threads, per_thread, seed = args
    statuses: list[int] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        client = Client(port, fixture, seed * 100 + n, path)
        local = [client.call() for _ in range(per_thread)]
        with lock:
            statuses.extend(local)

    started = time.perf_counter()
    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    ok = sum(1 for s in statuses if s in (200, 201))
    return ok, len(statuses) - ok, time.perf_counter() - started


def max_throughput_python(port: int, fixture: Fixture | None, path: str, *, requests: int,
                          processes: int = 2, threads: int = 8) -> tuple[float, int]:
    """Closed loop: ``processes × threads`` connections share ``requests``; (req/s, errors)."""
    per_thread = max(1, requests // (processes * threads))
    jobs = [(port, fixture, path, threads, per_thread, seed) for seed in range(processes)]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        results = pool.map(_closed_loop_worker, jobs)
    elapsed = time.perf_counter() - started
    ok = sum(r[0] for r in results)
    return ok / elapsed, sum(r[1] for r in results)


_WRK_SCRIPT = """
local counter = 0
local points = {%(points)s}
local categories = {"0101", "0102", "0601", "1101"}
local key = "%(key)s"
-- A global, not a local: setup() runs in wrk's main Lua state and thread:set() writes the
-- thread state's global; a local here would shadow it, and both threads would send the same
-- idempotency keys (each repeat a race that sends the server's whole batch down its slow path).
tid = 0
function setup(thread) tid = tid + 1; thread:set("tid", tid) end
function init(args) math.randomseed(os.time() + tid * 7919) end
function request()
  counter = counter + 1
  local p = points[math.random(#points)]
  local body = string.format('{"source":"iot","category":"%%s","description":"wrk","level":3,"lon":%%.6f,"lat":%%.6f}',
    categories[math.random(#categories)], p[1] + (math.random() - 0.5) / 1000, p[2] + (math.random() - 0.5) / 1000)
  local headers = {["Content-Type"] = "application/json", ["X-API-Key"] = key,
                   ["Idempotency-Key"] = string.format("wrk-%%d-%%d-%%d", os.time(), tid, counter)}
  return wrk.format("POST", nil, headers, body)
end
done = function(summary, latency, requests)
  io.write(string.format("JSON {\\"requests\\": %%d, \\"errors\\": %%d, \\"status\\": %%d}\\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
"""


def max_throughput_wrk(port: int, fixture: Fixture | None, path: str, *, seconds: int, workdir: Path,
                       connections: int) -> tuple[float, int]:
    """wrk (C, far lighter than a Python client) for a fixed time; (req/s, errors)."""
    wrk = shutil.which("wrk")
    assert wrk is not None
    command = [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if fixture is not None:
        points = ",".join(f"{{{lon:.6f},{lat:.6f}}}" for lon, lat in fixture.points)
        script = workdir / "intake.lua"
        script.write_text(_WRK_SCRIPT % {"points": points, "key": fixture.api_key}, encoding="utf-8")
        command += ["-s", str(script)]
    command.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    rate = next(float(line.split()[1]) for line in out.splitlines() if line.startswith("Requests/sec"))
    errors = 0
    for line in out.splitlines():
        if line.startswith("JSON "):
            data = json.loads(line[5:])
            errors = data["errors"] + data["status"]
        elif "Non-2xx" in line:
            errors = max(errors, int(line.split(":")[1]))
    return rate, errors


def _paced_worker(args: tuple[int, Fixture | None, str, float, int, int, int]) -> tuple[list[float], int]:
    """Open loop for one process: requests due every ``interval`` s; latency from the due time."""
    port, fixture, path, interval, count, seed, threads = args
    start = time.perf_counter() + 0.2
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    next_index = iter(range(count))

    def run(n: int) -> None:
        nonlocal errors
        client = Client(port, fixture, seed * 100 + n, path)
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            due = start + i * interval
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            status = client.call()
            elapsed = (time.perf_counter() - due) * 1000
            with lock:
                latencies.append(elapsed)
                if status not in (200, 201):
                    errors += 1

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies, errors


def latency_at(port: int, fixture: Fixture | None, path: str, *, rate: float, requests: int,
               processes: int = 2, threads: int = 16) -> tuple[list[float], int]:
    """Open-loop latencies (ms) at ``rate`` req/s split over ``processes``."""
    per_process = max(1, requests // processes)
    interval = processes / rate
    jobs = [(port, fixture, path, interval, per_process, 10 + seed, threads) for seed in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        results = pool.map(_paced_worker, jobs)
    return [x for r in results for x in r[0]], sum(r[1] for r in results)


def latency_by_rate(port: int, fixture: Fixture, rates: list[float]) -> None:
    """Open-loop intake latency at each offered rate: where waiting starts to dominate."""
    from benchmarks.harness import percentile

    for rate in rates:
        latencies, errors = latency_at(port, fixture, INTAKE_PATH, rate=rate, requests=int(rate * 6))
        print(f"POST /api/v1/cases at {rate:g} req/s offered: p50 {percentile(latencies, 50):.1f} ms, "
              f"p99 {percentile(latencies, 99):.1f} ms, errors {errors}", flush=True)


# --- Main --------------------------------------------------------------------------------------


def measure(name: str, max_fn: Callable[[], tuple[float, int]], paced_fn: Callable[[float], tuple[list[float], int]]
            ) -> dict[str, float]:
    from benchmarks.harness import percentile

    max_rps, max_errors = max_fn()
    latencies, paced_errors = paced_fn(max_rps / 2)
    figures = {
        "max_rps": max_rps, "max_errors": float(max_errors), "half_rate": max_rps / 2,
        "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
        "paced_errors": float(paced_errors), "paced_requests": float(len(latencies)),
    }
    print(f"{name}: {json.dumps({k: round(v, 2) for k, v in figures.items()})}", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=default_threads(),
                        help="Python threads per worker (default as linli serve)")
    parser.add_argument("--requests", type=int, default=4000, help="requests per closed-loop run (python client)")
    parser.add_argument("--seconds", type=int, default=10, help="duration of a wrk run")
    parser.add_argument("--backpressure", type=int, default=128, help="granian requests in flight per worker")
    parser.add_argument("--connections", type=int, default=64,
                        help="wrk connections (many gateways reporting at once; group commit batches them)")
    parser.add_argument("--paced-seconds", type=float, default=8.0, help="duration of the open-loop run")
    parser.add_argument("--no-wrk", action="store_true", help="use the Python client even if wrk is installed")
    parser.add_argument("--rates", type=str, default="",
                        help="also print intake p50/p99 at these offered req/s, e.g. 10,50,100,200 (open loop, 6 s each)")
    args = parser.parse_args()

    from benchmarks.harness import Result, report

    database_url = os.environ.get("LINLI_DATABASE_URL", "")
    vendor = "postgresql" if database_url.startswith("postg") else "sqlite"
    data_dir = Path(os.environ.get("LINLI_DATA_DIR") or tempfile.mkdtemp(prefix="linli-bench-http-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LINLI_DATA_DIR": str(data_dir), "LINLI_DEBUG": "0", "LINLI_TESTING": "0",
           "LINLI_LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "linli.settings",
           "PYTHONPATH": str(PROJECT)}
    print(f"data dir {data_dir} ({vendor}); seeding …", flush=True)
    fixture = prepare(env)
    port = free_port()
    use_wrk = shutil.which("wrk") is not None and not args.no_wrk

    def max_fn(fx: Fixture | None, path: str) -> Callable[[], tuple[float, int]]:
        if use_wrk:
            return lambda: max_throughput_wrk(port, fx, path, seconds=args.seconds, workdir=data_dir,
                                              connections=args.connections)
        return lambda: max_throughput_python(port, fx, path, requests=args.requests)

    def paced_fn(fx: Fixture | None, path: str) -> Callable[[float], tuple[list[float], int]]:
        return lambda rate: latency_at(port, fx, path, rate=rate, requests=int(rate * args.paced_seconds))

    with server(env, port, args.workers, args.threads, args.backpressure):
        # Warm both paths (imports, caches, connection setup) before measuring.
        latency_at(port, fixture, INTAKE_PATH, rate=50, requests=100)
        latency_at(port, None, BASELINE_PATH, rate=50, requests=100)
        baseline = measure("login page (bare view)", max_fn(None, BASELINE_PATH), paced_fn(None, BASELINE_PATH))
        intake = measure("POST /api/v1/cases", max_fn(fixture, INTAKE_PATH), paced_fn(fixture, INTAKE_PATH))
        latency_by_rate(port, fixture, [float(r) for r in args.rates.split(",") if r.strip()])

    client = f"wrk -t2 -c{args.connections}" if use_wrk else "python http.client, 2 processes x 8 connections"
    notes = (f"granian wsgi, {args.workers} workers x {args.threads} threads, client on the same {os.cpu_count()}-CPU machine ({client}); "
             "baseline: GET /login/ (bare Django view, no DB write)")
    results = [
        Result(bench=f"intake POST max throughput ({vendor})", size=int(intake["paced_requests"]), unit="req/s",
               linli=intake["max_rps"], baseline=baseline["max_rps"], baseline_name="GET /login/ max req/s",
               goal=f">= {GOAL_RPS} req/s", goal_met=intake["max_rps"] >= GOAL_RPS, notes=notes,
               extra={"errors": intake["max_errors"]}),
        Result(bench=f"intake POST p99 at half load ({vendor})", size=int(intake["paced_requests"]), unit="ms p99",
               linli=intake["p99_ms"], baseline=baseline["p99_ms"],
               baseline_name="GET /login/ p99 at half its own max", higher_is_better=False,
               goal=f"<= {GOAL_P99_MS} ms at {intake['half_rate']:.0f} req/s", goal_met=intake["p99_ms"] <= GOAL_P99_MS,
               notes=notes, extra={"p50_ms": intake["p50_ms"], "rate": intake["half_rate"],
                                   "errors": intake["paced_errors"]}),
    ]
    report(results, name=f"intake-http-{vendor}")


if __name__ == "__main__":
    main()
