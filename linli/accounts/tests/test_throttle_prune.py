"""Pruning spent login counters: a task enqueued when a lock starts, run by the worker."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.test import RequestFactory
from django_tasks_db.models import DBTaskResult

from linli.accounts.models import LoginThrottle
from linli.accounts.selectors import login_wait
from linli.accounts.services import login_failure_record, login_throttles_prune
from linli.accounts.tasks import login_throttles_prune_task
from linli.accounts.workflow import LoginClient, login_source
from linli.core.actors import SystemActor
from linli.core.models import AuditEntry

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ACTOR = SystemActor("test")


def keys() -> set[str]:
    return set(LoginThrottle.objects.values_list("key", flat=True))


def client(username: str, ip: str | None = None) -> LoginClient:
    return LoginClient(username=username, ip=ip, source=login_source(ip), device=None)


def fail(username: str, times: int = 1, ip: str | None = None) -> None:
    for _ in range(times):
        login_failure_record(client=client(username, ip))


@pytest.mark.django_db
def test_prune_deletes_spent_counters_and_keeps_live_waits_and_recent_ones():
    # given yesterday 9:00 a wait for "locked" (from an address), 9:10 one failure for "old"
    day = dt.timedelta(days=1)
    with time_machine.travel(START - day, tick=False):
        fail("locked", 5, ip="10.0.0.9")
    with time_machine.travel(START - day + dt.timedelta(minutes=10), tick=False):
        fail("old")
    # ... today 9:00 one failure for "recent"
    with time_machine.travel(START, tick=False):
        fail("recent")
    # when pruning today at 9:15: yesterday's counters forgot (24 h since their last failure)
    # and the address's hour is over; today's are kept
    deleted = login_throttles_prune(actor=ACTOR, now=START + dt.timedelta(minutes=15))
    # then
    assert deleted == 5
    assert keys() == {"src:recent|unknown", "user:recent"}
    entry = AuditEntry.objects.get(action="auth.throttles_prune")
    assert (entry.actor_label, entry.reason) == ("test", "rows=5")


@pytest.mark.django_db
def test_prune_never_lifts_a_running_wait_nor_forgets_a_recent_count():
    # given a wait that started at 9:00 a day after its first failures
    with time_machine.travel(START - dt.timedelta(days=1), tick=False):
        fail("locked", 4)
    with time_machine.travel(START - dt.timedelta(hours=1), tick=False):
        fail("locked", 1)
    # when pruning at 9:00 and a half minute later
    deleted = login_throttles_prune(actor=ACTOR, now=START - dt.timedelta(hours=1) + dt.timedelta(seconds=30))
    # then the wait is still there, and nothing was audited
    assert deleted == 0
    assert login_wait(client=client("locked"), now=START - dt.timedelta(hours=1) + dt.timedelta(seconds=30))
    assert not AuditEntry.objects.filter(action="auth.throttles_prune").exists()


@pytest.mark.django_db
def test_a_starting_lock_runs_the_prune_task():
    # given the day before yesterday's leftover counter of a guessed username
    with time_machine.travel(START - dt.timedelta(days=2), tick=False):
        fail("guessed")
    # when today five failures lock another username (tests run tasks immediately)
    with time_machine.travel(START, tick=False):
        for _ in range(5):
            authenticate(RequestFactory().post("/login/", REMOTE_ADDR="10.0.0.1"),
                         username="victim", password="wrong-password")
    # then the leftover is gone, the new lock stays
    assert "user:guessed" not in keys()
    assert "user:victim" in keys()
    assert AuditEntry.objects.filter(action="auth.throttles_prune",
                                     actor_label="job:login_throttles_prune").count() == 1


@pytest.mark.django_db
def test_with_the_database_backend_the_task_is_enqueued_in_the_login_transaction(settings):
    # given the production task backend
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    # when a username gets locked
    with time_machine.travel(START, tick=False):
        for _ in range(5):
            fail("victim")
    # then exactly one prune job waits for the worker
    queued = DBTaskResult.objects.filter(task_path=login_throttles_prune_task.module_path)
    assert queued.count() == 1
