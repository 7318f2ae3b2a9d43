"""Slow and idle clients against the web server (issue #15.4), and pages per second (sizing).

Two servers on the same migrated SQLite data folder, one after the other:

- baseline: granian as ``linli serve`` ran it before — HTTP auto-detection, ``backpressure``
  equal to the thread count (16 on 2 cores), default header timeout;
- linli: ``linli serve`` as it runs now (HTTP/1, header timeout 10 s, 1,024 connections).

For each: the time to get ``/login/`` while N connections sit idle (half of them having sent
half a request's headers), and the pages per second of ``/login/`` from 8 client threads
(an anonymous page: the server's and Django's own cost, no database work to speak of).
A request that has no answer within ``--timeout`` seconds counts as that many seconds.

    .venv/bin/python -m benchmarks.bench_slow_clients [--idle 32] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from benchmarks.harness import Result, report

PROJECT = Path(__file__).resolve().parents[1]
BASELINE_SERVER = """
import multiprocessing, os, sys
from granian.constants import Interfaces
from granian.server import MPServer
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
MPServer("linli.wsgi:application", address="127.0.0.1", port=int(sys.argv[1]), interface=Interfaces.WSGI,
         workers=1, blocking_threads=16, backpressure=16).serve()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(port: int, timeout: float) -> float:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=timeout) as answer:
            answer.read()
    except OSError:
        return timeout
    return time.perf_counter() - started


def with_idle(port: int, idle: int, timeout: float) -> float:
    held = []
    try:
        for n in range(idle):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if n % 2:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow")
            held.append(sock)
        time.sleep(0.3)
        return get(port, timeout)
    finally:
        for sock in held:
            sock.close()


def pages_per_second(port: int, seconds: float, clients: int = 8) -> float:
    done = [0] * clients
    stop = time.perf_counter() + seconds

    def client(i: int) -> None:
        while time.perf_counter() < stop:
            if get(port, 10) < 10:
                done[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / seconds


def start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL,  # noqa: S603
                               stderr=subprocess.DEVNULL, process_group=0)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if get(port, 2) < 2:
            return process
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError("the server did not answer within 180 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=15.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-slow-clients-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env.update(LINLI_DATA_DIR=str(folder), LINLI_ENV_FILE="", LINLI_WEB_THREADS="16", PYTHONUNBUFFERED="1",
               DJANGO_SETTINGS_MODULE="linli.settings")
    subprocess.run([sys.executable, "-m", "linli.cli", "migrate", "-v0"], cwd=PROJECT, env=env, check=True)
    figures: dict[str, dict[str, float]] = {}
    for name, command in (
        ("baseline", [sys.executable, "-c", BASELINE_SERVER]),
        ("linli", [sys.executable, "-m", "linli.cli", "serve", "--host", "127.0.0.1"]),
    ):
        port = free_port()
        full = [*command, str(port)] if name == "baseline" else [*command, "--port", str(port)]
        process = start(full, env, port)
        try:
            get(port, 10)  # warm up
            figures[name] = {
                "idle0_s": with_idle(port, 0, args.timeout),
                "idle_s": with_idle(port, args.idle, args.timeout),
                "pages_per_s": pages_per_second(port, args.seconds),
            }
        finally:
            stop(process)
        print(name, figures[name], flush=True)
    base, ours = figures["baseline"], figures["linli"]
    report([
        Result(bench=f"page with {args.idle} idle connections", size=args.idle, unit="s", linli=ours["idle_s"],
               baseline=base["idle_s"], baseline_name="granian as before (backpressure = 16 threads)",
               higher_is_better=False, goal="< 1 s", goal_met=ours["idle_s"] < 1.0,
               notes=f"no idle connection: linli {ours['idle0_s']:.3f} s, baseline {base['idle0_s']:.3f} s; "
                     f"{args.timeout:.0f} s = no answer"),
        Result(bench="anonymous pages per second, 8 clients", size=8, unit="pages/s", linli=ours["pages_per_s"],
               baseline=base["pages_per_s"], baseline_name="granian as before"),
    ], name="slow_clients")


if __name__ == "__main__":
    main()
