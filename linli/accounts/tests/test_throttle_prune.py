"""Pruning spent login counters: a task enqueued when a lock starts, run by the worker."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.test import RequestFactory
from django_tasks_db.models import DBTaskResult

from linli.accounts.models import LoginThrottle
from linli.accounts.services import login_failure_record, login_locked_until, login_throttles_prune
from linli.accounts.tasks import login_throttles_prune_task
from linli.core.actors import SystemActor
from linli.core.models import AuditEntry

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ACTOR = SystemActor("test")


def keys() -> set[str]:
    return set(LoginThrottle.objects.values_list("key", flat=True))


@pytest.mark.django_db
def test_prune_deletes_spent_counters_and_keeps_live_locks_and_open_windows():
    # given at 9:00 a lock for "locked", one failure for "recent" and an IP counter
    with time_machine.travel(START, tick=False):
        for _ in range(5):
            login_failure_record(username="locked", ip="10.0.0.9")
    # ... at 9:10 one failure for "old" (its 15-minute window ends at 9:25)
    with time_machine.travel(START + dt.timedelta(minutes=10), tick=False):
        login_failure_record(username="old", ip=None)
    # ... at 9:24 one failure for "recent"
    with time_machine.travel(START + dt.timedelta(minutes=24), tick=False):
        login_failure_record(username="recent", ip=None)
    # when pruning at 9:26: the 9:00 lock and the 9:10 window are over, 9:24 is open, the IP
    # window (one hour) is open
    deleted = login_throttles_prune(actor=ACTOR, now=START + dt.timedelta(minutes=26))
    # then
    assert deleted == 2
    assert keys() == {"user:recent", "ip:10.0.0.9"}
    entry = AuditEntry.objects.get(action="auth.throttles_prune")
    assert (entry.actor_label, entry.reason) == ("test", "rows=2")


@pytest.mark.django_db
def test_prune_never_lifts_a_running_lock():
    # given a lock that started at 9:00
    with time_machine.travel(START, tick=False):
        for _ in range(5):
            login_failure_record(username="locked", ip=None)
    # when pruning at 9:14
    deleted = login_throttles_prune(actor=ACTOR, now=START + dt.timedelta(minutes=14))
    # then the lock is still there, and nothing was audited
    assert deleted == 0
    assert login_locked_until(username="locked", now=START + dt.timedelta(minutes=14)) is not None
    assert not AuditEntry.objects.filter(action="auth.throttles_prune").exists()


@pytest.mark.django_db
def test_a_starting_lock_runs_the_prune_task():
    # given yesterday's leftover counter of a guessed username
    with time_machine.travel(START - dt.timedelta(days=1), tick=False):
        login_failure_record(username="guessed", ip=None)
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
            login_failure_record(username="victim", ip=None)
    # then exactly one prune job waits for the worker
    queued = DBTaskResult.objects.filter(task_path=login_throttles_prune_task.module_path)
    assert queued.count() == 1
