"""The pure rules of operations: restart backoff, liveness, lost tasks, connection budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linli.ops.workflow import (
    OTHER_CONNECTIONS,
    RESTART_CAP_SECONDS,
    LostTaskAction,
    budget_fits,
    connection_budget,
    lost_task_action,
    restart_delay,
    worker_alive,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("failures", "delay"), [(0, 0.0), (1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (6, 30.0),
                                                   (50, 30.0)])
def test_restart_delay_doubles_with_each_quick_failure_up_to_the_cap(failures, delay):
    assert restart_delay(quick_failures=failures) == delay


@given(st.integers(min_value=0, max_value=10_000))
def test_restart_delay_is_never_negative_nor_above_the_cap(failures):
    assert 0 <= restart_delay(quick_failures=failures) <= RESTART_CAP_SECONDS


def test_a_stopped_worker_is_dead_whatever_its_heartbeat():
    assert not worker_alive(seen_at=NOW, stopped_at=NOW, now=NOW, lease_seconds=60, process_alive=True)


def test_what_the_operating_system_says_wins_over_the_heartbeat():
    late = NOW - timedelta(hours=1)
    assert worker_alive(seen_at=late, stopped_at=None, now=NOW, lease_seconds=60, process_alive=True)
    assert not worker_alive(seen_at=NOW, stopped_at=None, now=NOW, lease_seconds=60, process_alive=False)


@pytest.mark.parametrize(("ago", "alive"), [(0, True), (60, True), (61, False), (3600, False)])
def test_another_hosts_worker_lives_while_its_heartbeat_is_within_the_lease(ago, alive):
    seen = NOW - timedelta(seconds=ago)
    assert worker_alive(seen_at=seen, stopped_at=None, now=NOW, lease_seconds=60, process_alive=None) is alive


@pytest.mark.parametrize(("safe", "attempts", "action"), [
    (True, 1, LostTaskAction.REQUEUE), (True, 2, LostTaskAction.REQUEUE), (True, 3, LostTaskAction.FAIL),
    (False, 1, LostTaskAction.FAIL),
])
def test_only_retry_safe_tasks_with_attempts_left_run_again(safe, attempts, action):
    assert lost_task_action(retry_safe=safe, attempts=attempts, max_attempts=3) == action


def test_the_documented_four_workers_of_32_threads_do_not_fit_a_default_server():
    # given the old documented setup: 4 web workers × 32 threads and 2 task workers (issue #24.8)
    budget = connection_budget(web_workers=4, web_threads=32, task_workers=2, daemons=2)
    # then it needs more than PostgreSQL's default 100 connections (3 reserved)
    assert budget.total == 128 + 4 + 2 + OTHER_CONNECTIONS
    assert not budget_fits(budget, max_connections=100, reserved=3)


def test_two_workers_of_sixteen_threads_fit_a_default_server():
    budget = connection_budget(web_workers=2, web_threads=16, task_workers=2, daemons=2)
    assert budget_fits(budget, max_connections=100, reserved=3)
