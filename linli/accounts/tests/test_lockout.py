"""Login lockout: 5 failures per username lock it for 15 minutes, from any IP, never for good.

A separate per-IP throttle slows password spraying without locking anybody's username.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.test import RequestFactory, override_settings

from linli.accounts.models import LoginThrottle
from linli.accounts.services import ip_throttled, login_locked_until, login_unlock
from linli.core.actors import SystemActor
from linli.core.models import AuditEntry

PASSWORD = "Linli-test-2026"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def attempt(username: str, password: str, *, ip: str = "10.0.0.1"):
    request = RequestFactory().post("/login/", REMOTE_ADDR=ip)
    return authenticate(request, username=username, password=password)


def fail(username: str, times: int, *, ip: str = "10.0.0.1") -> None:
    for _ in range(times):
        assert attempt(username, "wrong-password", ip=ip) is None


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.mark.django_db
def test_five_failures_lock_the_username_even_against_the_right_password(users, clock):
    # given
    fail("gw_a1", 5)
    # when the sixth attempt has the correct password
    result = attempt("gw_a1", PASSWORD)
    # then
    assert result is None
    assert login_locked_until(username="gw_a1") == START + dt.timedelta(minutes=15)


@pytest.mark.django_db
def test_four_failures_do_not_lock(users, clock):
    fail("gw_a1", 4)
    assert attempt("gw_a1", PASSWORD) == users.grid_worker_a1


@pytest.mark.django_db
def test_lock_expires_after_fifteen_minutes(users, clock):
    # given
    fail("gw_a1", 5)
    # when
    clock.shift(dt.timedelta(minutes=14, seconds=59))
    still_locked = attempt("gw_a1", PASSWORD)
    clock.shift(dt.timedelta(seconds=2))
    after = attempt("gw_a1", PASSWORD)
    # then
    assert still_locked is None
    assert after == users.grid_worker_a1


@pytest.mark.django_db
def test_attempts_while_locked_do_not_extend_the_lock(users, clock):
    # given
    fail("gw_a1", 5)
    # when someone keeps hammering during the lock
    for _ in range(10):
        clock.shift(dt.timedelta(minutes=1))
        fail("gw_a1", 3)
    clock.shift(dt.timedelta(minutes=6))
    # then the lock still ended 15 minutes after it started: never permanent
    assert attempt("gw_a1", PASSWORD) == users.grid_worker_a1


@pytest.mark.django_db
def test_failures_from_different_ips_count_for_the_same_username(users, clock):
    # given
    for n in range(5):
        fail("gw_a1", 1, ip=f"10.0.0.{n + 1}")
    # when / then
    assert attempt("gw_a1", PASSWORD, ip="10.9.9.9") is None


@pytest.mark.django_db
def test_other_username_from_the_same_ip_is_not_locked(users, clock):
    # given
    fail("gw_a1", 5, ip="10.0.0.1")
    # when / then
    assert attempt("gw_b1", PASSWORD, ip="10.0.0.1") == users.grid_worker_b1


@pytest.mark.django_db
def test_username_case_does_not_dodge_the_counter(users, clock):
    fail("GW_A1", 3)
    fail("gw_a1", 2)
    assert login_locked_until(username="gw_a1") is not None


@pytest.mark.django_db
def test_successful_login_clears_the_counter(users, clock):
    # given
    fail("gw_a1", 4)
    assert attempt("gw_a1", PASSWORD) == users.grid_worker_a1
    # when four more failures follow
    fail("gw_a1", 4)
    # then the username is still not locked
    assert login_locked_until(username="gw_a1") is None


@pytest.mark.django_db
def test_failures_spread_beyond_the_window_do_not_add_up(users, clock):
    fail("gw_a1", 4)
    clock.shift(dt.timedelta(minutes=16))
    fail("gw_a1", 1)
    assert login_locked_until(username="gw_a1") is None


@pytest.mark.django_db
def test_lock_start_and_successful_login_are_audited_once(users, clock):
    # given
    fail("gw_a1", 5)
    # then one lockout entry, without the password
    lockouts = list(AuditEntry.objects.filter(action="auth.lockout"))
    assert [(e.target_type, e.target_id) for e in lockouts] == [("username", "gw_a1")]
    # and a later login is audited with the user as actor
    clock.shift(dt.timedelta(minutes=16))
    attempt("gw_a1", PASSWORD)
    login = AuditEntry.objects.get(action="auth.login")
    assert login.actor_id == users.grid_worker_a1.pk
    assert not AuditEntry.objects.filter(reason__contains="wrong-password").exists()


@pytest.mark.django_db
def test_administrator_can_lift_a_lock_early(users, clock):
    # given
    fail("gw_a1", 5)
    # when
    lifted = login_unlock(actor=SystemActor("test"), username="gw_a1")
    # then
    assert lifted
    assert attempt("gw_a1", PASSWORD) == users.grid_worker_a1
    assert AuditEntry.objects.filter(action="auth.unlock", target_id="gw_a1").exists()


@pytest.mark.django_db
@override_settings(LINLI_IP_THROTTLE_PER_HOUR=3)
def test_ip_throttle_is_separate_and_locks_no_username(users, clock):
    # given three failures for three different usernames from one IP
    for username in ("gw_a1", "gw_b1", "cs_a"):
        fail(username, 1, ip="10.0.0.66")
    # when
    from_busy_ip = attempt("street", PASSWORD, ip="10.0.0.66")
    from_other_ip = attempt("gw_a1", PASSWORD, ip="10.0.0.77")
    # then the IP is throttled, yet no username is locked
    assert ip_throttled(ip="10.0.0.66")
    assert from_busy_ip is None
    assert from_other_ip == users.grid_worker_a1
    assert all(login_locked_until(username=u) is None for u in ("gw_a1", "gw_b1", "cs_a", "street"))
    # and the throttle ends after an hour
    clock.shift(dt.timedelta(hours=1, seconds=1))
    assert attempt("street", PASSWORD, ip="10.0.0.66") == users.street


@pytest.mark.django_db
@override_settings(LINLI_TRUSTED_PROXIES=1)
def test_behind_a_trusted_proxy_the_forwarded_client_address_is_throttled(users, clock):
    # given
    request = RequestFactory().post("/login/", REMOTE_ADDR="127.0.0.1",
                                    HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    # when
    authenticate(request, username="gw_a1", password="wrong-password")
    # then the client address (as seen by our proxy) is counted, not the proxy's
    assert LoginThrottle.objects.filter(key="ip:203.0.113.9").exists()
    assert not LoginThrottle.objects.filter(key="ip:127.0.0.1").exists()


@pytest.mark.django_db
def test_unknown_username_failures_are_counted_too(db, clock):
    fail("nobody", 5)
    assert login_locked_until(username="nobody") is not None
