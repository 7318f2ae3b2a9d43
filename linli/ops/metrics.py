"""Prometheus metrics: request counts and latencies from every web process, queue and job
figures read from the database at scrape time.

Web processes share their counters through files (prometheus_client's multiprocess mode):
``linli serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder before its workers
start, so whichever worker answers ``/metrics`` reports the sum of all of them. Without
that variable (tests, ``manage.py runserver``) the counters are per process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("linli_http_requests", "HTTP requests answered", ["method", "status", "view"])
LATENCY = Histogram("linli_http_request_duration_seconds", "Time to answer a request", ["view"],
                    buckets=LATENCY_BUCKETS)


def request_observe(*, method: str, status: int, view: str, seconds: float) -> None:
    REQUESTS.labels(method=method, status=str(status), view=view).inc()
    LATENCY.labels(view=view).observe(seconds)


class DatabaseCollector(Collector):
    """Queue depth and age, tasks by state, failures, live workers, import jobs by status."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from linli.ops.selectors import ops_figures

        figures = ops_figures()
        tasks = GaugeMetricFamily("linli_tasks", "Background tasks by status", labels=["status"])
        for status, count in sorted(figures.tasks_by_status.items()):
            tasks.add_metric([status.lower()], count)
        yield tasks
        failed = GaugeMetricFamily("linli_tasks_failed", "Failed background tasks kept, by task",
                                   labels=["task"])
        for name, count in sorted(figures.failed_by_task.items()):
            failed.add_metric([name], count)
        yield failed
        yield GaugeMetricFamily("linli_queue_depth", "Tasks ready to run", value=figures.queue_depth)
        yield GaugeMetricFamily("linli_queue_oldest_seconds", "Age of the oldest ready task",
                                value=figures.queue_oldest_seconds)
        yield GaugeMetricFamily("linli_task_workers_alive", "Task workers holding a live lease",
                                value=figures.workers_alive)
        yield GaugeMetricFamily("linli_tasks_lost", "Running tasks whose worker is gone",
                                value=figures.tasks_lost)
        jobs = GaugeMetricFamily("linli_import_jobs", "Import jobs by status", labels=["status"])
        for status, count in sorted(figures.import_jobs_by_status.items()):
            jobs.add_metric([status], count)
        yield jobs


def metrics_text() -> bytes:
    """The exposition text: request metrics (of every web process) and database figures."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        requests = CollectorRegistry()
        MultiProcessCollector(requests)  # type: ignore[no-untyped-call]
    else:
        requests = REGISTRY
    figures = CollectorRegistry()
    figures.register(DatabaseCollector())
    return generate_latest(requests) + generate_latest(figures)
