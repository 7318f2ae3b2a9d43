"""Login throttling: per username and source with growing waits, known devices exempt.

Before, five failures locked a *username* for 15 minutes from everywhere, and five requests
every 15 minutes kept its owner out for good. Now (OWASP Authentication Cheat Sheet, device
cookies): an unknown client waits after 5 failures for that username from its source, the
wait doubling per further failure; all unknown clients of a username wait after 20; a browser
the user logged in from before is counted on its own, so nobody else can lock it out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.test import RequestFactory, override_settings

from linli.accounts.backends import login_client
from linli.accounts.devices import COOKIE, device_cookie_after_login
from linli.accounts.models import LoginThrottle, SecurityNotice
from linli.accounts.selectors import login_wait
from linli.accounts.services import login_unlock
from linli.core.actors import SystemActor
from linli.core.models import AuditEntry

PASSWORD = "Linli-test-2026"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def attempt(username: str, password: str, *, ip: str = "10.0.0.1", device: str | None = None):
    request = RequestFactory().post("/login/", REMOTE_ADDR=ip)
    if device:
        request.COOKIES[COOKIE] = device
    return authenticate(request, username=username, password=password)


def fail(username: str, times: int, *, ip: str = "10.0.0.1", device: str | None = None) -> None:
    for _ in range(times):
        assert attempt(username, "wrong-password", ip=ip, device=device) is None


def waiting_until(username: str) -> dt.datetime:
    until = wait_of(username)
    assert until is not None
    return until


def wait_of(username: str, *, ip: str = "10.0.0.1", device: str | None = None) -> dt.datetime | None:
    request = RequestFactory().post("/login/", REMOTE_ADDR=ip)
    if device:
        request.COOKIES[COOKIE] = device
    return login_wait(client=login_client(request, username))


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.mark.django_db
def test_five_failures_from_one_client_make_it_wait_a_minute_even_with_the_right_password(users, clock):
    # given
    fail("gw_a1", 5)
    # when the sixth attempt has the correct password
    result = attempt("gw_a1", PASSWORD)
    # then it is refused unchecked, for the first wait
    assert result is None
    assert wait_of("gw_a1") == START + MINUTE


@pytest.mark.django_db
def test_four_failures_do_not_make_anyone_wait(users, clock):
    fail("gw_a1", 4)
    assert attempt("gw_a1", PASSWORD) == users.grid_worker_a1


@pytest.mark.django_db
def test_after_the_wait_the_right_password_works_without_a_captcha(users, clock):
    # given
    fail("gw_a1", 5)
    # when
    clock.shift(dt.timedelta(seconds=59))
    still_waiting = attempt("gw_a1", PASSWORD)
    clock.shift(dt.timedelta(seconds=2))
    after = attempt("gw_a1", PASSWORD)
    # then
    assert still_waiting is None
    assert after == users.grid_worker_a1


@pytest.mark.django_db
def test_each_further_failure_doubles_the_wait_up_to_the_longest(users, clock):
    # given five failures (a minute), then one failure after each wait
    fail("gw_a1", 5)
    waits = [waiting_until("gw_a1") - START]
    for _ in range(8):
        clock.move_to(waiting_until("gw_a1"))
        now = dt.datetime.now(dt.UTC)
        fail("gw_a1", 1)
        waits.append(waiting_until("gw_a1") - now)
    # then 1, 2, 4 … minutes, never past an hour
    assert [int(w / MINUTE) for w in waits] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


@pytest.mark.django_db
def test_hammering_during_a_wait_neither_counts_nor_extends_it(users, clock):
    # given
    fail("gw_a1", 5)
    # when someone keeps trying during the wait
    for _ in range(5):
        clock.shift(dt.timedelta(seconds=10))
        fail("gw_a1", 3)
    clock.shift(dt.timedelta(seconds=11))
    # then the wait ended a minute after it started, and the count did not move
    assert LoginThrottle.objects.get(key="src:gw_a1|10.0.0.1").failures == 5
    assert attempt("gw_a1", PASSWORD) == users.grid_worker_a1


@pytest.mark.django_db
def test_an_attacker_cannot_lock_the_real_user_out_of_a_known_device(users, clock):
    # given the user logged in from their phone before (a device cookie), and an attacker
    # guessing from the same carrier address and from twenty others, past every threshold
    phone = device_cookie_after_login(None, "gw_a1")
    fail("gw_a1", 5, ip="10.0.0.1")
    for n in range(20):
        fail("gw_a1", 5, ip=f"10.9.{n}.1")
    assert attempt("gw_a1", PASSWORD, ip="10.0.0.1") is None  # unknown clients wait
    assert attempt("gw_a1", PASSWORD, ip="10.3.3.3") is None
    # when the real user logs in from the phone, from the attacker's very address
    result = attempt("gw_a1", PASSWORD, ip="10.0.0.1", device=phone)
    # then they are in
    assert result == users.grid_worker_a1


@pytest.mark.django_db
def test_failures_from_one_source_do_not_hold_up_the_user_elsewhere(users, clock):
    # given
    fail("gw_a1", 7, ip="10.0.0.1")
    # when / then the same username from another address is not held up
    assert wait_of("gw_a1", ip="10.0.0.1") is not None
    assert attempt("gw_a1", PASSWORD, ip="10.0.0.2") == users.grid_worker_a1


@pytest.mark.django_db
def test_failures_from_many_sources_together_make_every_unknown_client_wait(users, clock):
    # given 4 failures each from 5 addresses: no source reaches its 5, the username reaches 20
    for n in range(5):
        fail("gw_a1", 4, ip=f"10.0.{n}.1")
    # when / then a new address waits too (distributed guessing)
    assert attempt("gw_a1", PASSWORD, ip="10.7.7.7") is None
    assert wait_of("gw_a1", ip="10.7.7.7") == START + MINUTE


@pytest.mark.django_db
def test_a_known_device_has_a_budget_of_its_own(users, clock):
    # given a stolen known device trying passwords
    phone = device_cookie_after_login(None, "gw_a1")
    fail("gw_a1", 5, device=phone)
    # then it waits, while an unknown client is not held up by it
    assert attempt("gw_a1", PASSWORD, device=phone) is None
    assert attempt("gw_a1", PASSWORD, ip="10.0.0.9") == users.grid_worker_a1


@pytest.mark.django_db
def test_a_forged_or_another_users_device_cookie_counts_as_an_unknown_client(users, clock):
    # given
    other_users = device_cookie_after_login(None, "gw_b1")
    fail("gw_a1", 5)
    # when / then neither gets past the wait of unknown clients
    assert attempt("gw_a1", PASSWORD, device=other_users) is None
    assert attempt("gw_a1", PASSWORD, device=other_users[:-3] + "abc") is None


@pytest.mark.django_db
def test_a_login_clears_that_clients_counter_only(users, clock):
    # given
    fail("gw_a1", 4)
    assert attempt("gw_a1", PASSWORD) == users.grid_worker_a1
    # when four more failures follow
    fail("gw_a1", 4)
    # then no wait
    assert wait_of("gw_a1") is None
    assert LoginThrottle.objects.get(key="user:gw_a1").failures == 8


@pytest.mark.django_db
def test_counters_forget_after_a_quiet_day(users, clock):
    fail("gw_a1", 4)
    clock.shift(dt.timedelta(hours=24, seconds=1))
    fail("gw_a1", 1)
    assert wait_of("gw_a1") is None
    assert LoginThrottle.objects.get(key="src:gw_a1|10.0.0.1").failures == 1


@pytest.mark.django_db
def test_username_case_does_not_dodge_the_counter(users, clock):
    fail("GW_A1", 3)
    fail("gw_a1", 2)
    assert wait_of("gw_a1") is not None


@pytest.mark.django_db
def test_ipv6_addresses_of_one_subscriber_count_as_one_source(users, clock):
    for n in range(5):
        fail("gw_a1", 1, ip=f"2001:db8:1:2::{n + 1}")
    assert wait_of("gw_a1", ip="2001:db8:1:2::ff") is not None
    assert wait_of("gw_a1", ip="2001:db8:1:3::1") is None


@pytest.mark.django_db
def test_a_wait_is_audited_and_told_to_the_user_and_the_administrators(users, clock):
    # given a wait of one source, then one of the whole username
    fail("gw_a1", 5)
    for n in range(4):
        fail("gw_a1", 4, ip=f"10.1.{n}.1")
    # then each start is audited, without the password
    lockouts = list(AuditEntry.objects.filter(action="auth.lockout").order_by("seq"))
    assert [(e.target_id, e.reason.split()[0]) for e in lockouts] == [
        ("gw_a1", "scope=source"), ("gw_a1", "scope=account"),
    ]
    assert not AuditEntry.objects.filter(reason__contains="wrong-password").exists()
    # and the user hears once within the hour, the administrator of the username's wait
    notices = {(n.recipient.username, n.kind) for n in SecurityNotice.objects.all()}
    assert notices == {("gw_a1", "your_login_throttled"), ("admin", "account_throttled")}
    assert SecurityNotice.objects.get(recipient=users.district_admin).username == "gw_a1"


@pytest.mark.django_db
def test_a_login_from_a_known_device_is_audited_as_such(users, clock):
    phone = device_cookie_after_login(None, "gw_a1")
    attempt("gw_a1", PASSWORD, device=phone)
    entry = AuditEntry.objects.get(action="auth.login")
    assert (entry.actor_id, entry.reason) == (users.grid_worker_a1.pk, "known device")


@pytest.mark.django_db
def test_administrator_can_lift_every_wait_of_a_username(users, clock):
    # given
    phone = device_cookie_after_login(None, "gw_a1")
    fail("gw_a1", 5)
    fail("gw_a1", 5, device=phone)
    # when
    lifted = login_unlock(actor=SystemActor("test"), username="GW_A1")
    # then
    assert lifted
    assert attempt("gw_a1", PASSWORD) == users.grid_worker_a1
    assert attempt("gw_a1", PASSWORD, device=phone) == users.grid_worker_a1
    assert AuditEntry.objects.filter(action="auth.unlock", target_id="gw_a1").exists()


@pytest.mark.django_db
@override_settings(LINLI_IP_THROTTLE_PER_HOUR=3)
def test_address_throttle_stops_spraying_but_not_a_known_device(users, clock):
    # given three failures for three different usernames from one address
    for username in ("gw_a1", "gw_b1", "cs_a"):
        fail(username, 1, ip="10.0.0.66")
    # when
    from_busy_ip = attempt("street", PASSWORD, ip="10.0.0.66")
    from_other_ip = attempt("gw_a1", PASSWORD, ip="10.0.0.77")
    known = attempt("street", PASSWORD, ip="10.0.0.66", device=device_cookie_after_login(None, "street"))
    # then the address waits, other addresses and known devices do not
    assert from_busy_ip is None
    assert from_other_ip == users.grid_worker_a1
    assert known == users.street
    assert SecurityNotice.objects.filter(kind="source_throttled", recipient=users.district_admin,
                                         source="10.0.0.66").count() == 1
    # and the address may try again after an hour
    clock.shift(dt.timedelta(hours=1, seconds=1))
    assert attempt("street", PASSWORD, ip="10.0.0.66") == users.street


@pytest.mark.django_db
@override_settings(LINLI_TRUSTED_PROXIES=1)
def test_behind_a_trusted_proxy_the_forwarded_client_address_is_counted(users, clock):
    # given
    request = RequestFactory().post("/login/", REMOTE_ADDR="127.0.0.1",
                                    HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    # when
    authenticate(request, username="gw_a1", password="wrong-password")
    # then the client address (as seen by our proxy) is counted, not the proxy's
    assert set(LoginThrottle.objects.values_list("key", flat=True)) == {
        "ip:203.0.113.9", "src:gw_a1|203.0.113.9", "user:gw_a1",
    }


@pytest.mark.django_db
def test_unknown_username_failures_are_counted_too(db, clock):
    fail("nobody", 5)
    assert wait_of("nobody") is not None
    assert not SecurityNotice.objects.exists()
