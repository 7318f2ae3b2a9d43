"""Benchmark harness: run a workload and its baseline in the same process, print a table
(bench, size, linli, baseline, ratio) and write JSON under ``benchmarks/results/``.

Absolute figures swing on shared machines; the ratio against a baseline measured in the
same run is what we compare across runs.
"""

from __future__ import annotations

import http.client
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Result:
    """One line of the table. ``unit`` says what the numbers are (``points/s``, ``ms p99`` …)."""

    bench: str
    size: int
    unit: str
    linli: float
    baseline: float | None
    baseline_name: str = ""
    higher_is_better: bool = True
    goal: str = ""
    goal_met: bool | None = None
    notes: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0) or self.linli == 0:
            return None
        assert self.baseline is not None
        return self.linli / self.baseline if self.higher_is_better else self.baseline / self.linli


PROJECT = Path(__file__).resolve().parents[1]


def percentile(samples: Sequence[float], pct: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def time_calls(fn: Callable[[], object], *, repeat: int) -> list[float]:
    """Per-call wall times in milliseconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def best_of(fn: Callable[[], object], *, repeat: int = 3) -> float:
    """Best wall time in seconds over ``repeat`` runs (least disturbed by neighbours)."""
    return min(time_calls(fn, repeat=repeat)) / 1000


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def report(results: Sequence[Result], *, name: str) -> Path:
    """Print the table and write ``benchmarks/results/<name>.json``; returns the path."""
    header = f"{'bench':<40} {'size':>10} {'unit':<14} {'linli':>12} {'baseline':>12} {'ratio':>8}  goal"
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = r.ratio
        met = "" if r.goal_met is None else ("  OK" if r.goal_met else "  MISSED")
        print(
            f"{r.bench:<40} {r.size:>10,} {r.unit:<14} {_fmt(r.linli):>12} {_fmt(r.baseline):>12} "
            f"{(f'{ratio:.1f}x' if ratio else '-'):>8}  {r.goal}{met}"
        )
        if r.baseline_name:
            print(f"{'':<40} baseline: {r.baseline_name}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = {
        "name": name,
        "at": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
        "results": [asdict(r) | {"ratio": r.ratio} for r in results],
    }
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nwritten {path}")
    return path


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


@contextmanager
def linli_process(command: Sequence[str], *, env: dict[str, str], port: int, ready_path: str,
                  wait_seconds: float = 600, settle_seconds: float = 0.0) -> Iterator[None]:
    """``python -m linli.cli COMMAND…`` (serve, live) started for a benchmark and stopped after
    it: ready once ``ready_path`` answers 200 on ``port``. Generous wait: on a shared 2-core box
    at load 20+ the workers' start alone took minutes."""
    process = subprocess.Popen([sys.executable, "-m", "linli.cli", *command],  # noqa: S603 -- our own interpreter
                               cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", ready_path)
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                # Stop it first: its worker processes hold stderr open, and reading it while they
                # live waited for ever.
                process.kill()
                try:
                    _out, err = process.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    err = b"(no output: its workers still hold stderr)"
                raise SystemExit(f"linli {command[0]} did not start: {err.decode()[-2000:]}")
            time.sleep(0.3)
        time.sleep(settle_seconds)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
