"""/healthz for nginx and monitors, /metrics for Prometheus, the maintenance switch (#24.10)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from linli.ops.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def live_worker() -> WorkerHeartbeat:
    now = timezone.now()
    return WorkerHeartbeat.objects.create(worker_id="w1", hostname="elsewhere", pid=1, queues="default",
                                          started_at=now, seen_at=now)


def test_healthz_reports_every_check_and_answers_200_when_all_pass():
    # given a live worker and an empty queue
    live_worker()
    # when a monitor asks
    response = Client().get("/healthz")
    # then every check is there and passes
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "workers", "queue", "disk"}
    assert body["checks"]["workers"]["alive"] == 1


def test_healthz_fails_without_a_worker_and_with_an_old_queue(settings):
    # given no worker at all and a task waiting for longer than allowed
    DBTaskResult.objects.create(task_path="linli.cases.tasks.case_supervision_sweep_task", args_kwargs={"args": [], "kwargs": {}},
                                backend_name="default", exception_class_path="", traceback="")
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(seconds=settings.LINLI_HEALTH_QUEUE_AGE_SECONDS + 60))
    # when a monitor asks
    response = Client().get("/healthz")
    # then it answers 503 naming what failed
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["workers"]["ok"] is False
    assert body["checks"]["queue"]["ok"] is False
    assert body["checks"]["queue"]["ready"] == 1


def test_healthz_can_ask_only_the_database():
    # given no worker (a web instance being started by `linli upgrade`)
    # when only the database is asked for
    response = Client().get("/healthz?checks=database")
    # then it passes
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database"}


def test_healthz_fails_when_the_disk_is_nearly_full(settings):
    settings.LINLI_HEALTH_MIN_FREE_MB = 10**12
    response = Client().get("/healthz?checks=disk")
    assert response.status_code == 503
    assert response.json()["checks"]["disk"]["ok"] is False


def test_metrics_do_not_exist_without_a_token(settings):
    settings.LINLI_METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404


def test_metrics_refuse_a_wrong_token(settings):
    settings.LINLI_METRICS_TOKEN = "s3cret-metrics-token"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401


def test_metrics_count_requests_latencies_queue_and_failures(settings):
    # given a token, one answered page and one failed task
    settings.LINLI_METRICS_TOKEN = "s3cret-metrics-token"
    client = Client()
    client.get("/login/")
    DBTaskResult.objects.create(task_path="linli.cases.tasks.case_notify", status="FAILED",
                                args_kwargs={"args": [], "kwargs": {}}, backend_name="default",
                                exception_class_path="x.Error", traceback="")
    # when Prometheus scrapes
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
    # then requests, latencies, queue depth and task failures are there
    text = response.content.decode()
    assert response.status_code == 200
    assert 'linli_http_requests_total{method="GET",status="200",view="web:login"}' in text
    assert "linli_http_request_duration_seconds_bucket" in text
    assert "linli_queue_depth 0.0" in text
    assert 'linli_tasks_failed{task="case_notify"} 1.0' in text


def test_maintenance_switch_answers_503_with_the_page_but_not_for_healthz(settings, tmp_path):
    # given the maintenance file in place (an upgrade running a long migration)
    flag = tmp_path / "maintenance.on"
    flag.touch()
    settings.LINLI_MAINTENANCE_FILE = flag
    client = Client()
    # when a page and the health check are asked for
    page = client.get("/login/")
    health = client.get("/healthz?checks=database")
    # then the page is the maintenance page, with Retry-After, and the health check still answers
    assert page.status_code == 503
    assert page["Retry-After"] == "120"
    assert "系统正在升级维护" in page.content.decode()
    assert health.status_code == 200
    # and without the file the site is back
    flag.unlink()
    assert client.get("/login/").status_code == 200
