"""The pure parts of login throttling: the wait per failure count, sources, device cookies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings

from linli.accounts.devices import device_cookie_after_login, device_of
from linli.accounts.workflow import LoginClient, login_backoff, login_source
from linli.config import ConfigError, env_retired

SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(("failures", "wait"), [
    (0, None), (4, None), (5, 60), (6, 120), (7, 240), (10, 1920), (11, 3600), (12, 3600), (10_000, 3600),
])
def test_the_wait_doubles_per_failure_past_the_free_ones_up_to_the_longest(failures, wait):
    found = login_backoff(failures, free=5, first=60 * SECOND, longest=3600 * SECOND)
    assert found == (None if wait is None else wait * SECOND)


@pytest.mark.parametrize(("ip", "source"), [
    ("10.0.0.1", "10.0.0.1"),
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),
    ("::ffff:10.0.0.1", "10.0.0.1"),
    (None, "unknown"),
    ("not-an-address", "not-an-address"),
])
def test_sources_group_an_ipv6_subscriber(ip, source):
    assert login_source(ip) == source


def test_a_known_device_answers_for_itself_only():
    known = LoginClient(username="gw_a1", ip="10.0.0.1", source="10.0.0.1", device="abc")
    unknown = LoginClient(username="gw_a1", ip="10.0.0.1", source="10.0.0.1", device=None)
    assert known.gate_keys() == ["dev:gw_a1|abc"]
    assert unknown.gate_keys() == ["src:gw_a1|10.0.0.1", "user:gw_a1", "ip:10.0.0.1"]


def test_a_device_cookie_holds_a_device_per_user_and_keeps_it_across_logins():
    # given
    first = device_cookie_after_login(None, "gw_a1")
    both = device_cookie_after_login(first, "cs_a")
    again = device_cookie_after_login(both, "gw_a1")
    # then
    device = device_of(first, "gw_a1")
    assert device
    assert device_of(both, "gw_a1") == device_of(again, "gw_a1") == device
    assert device_of(again, "cs_a") == device_of(both, "cs_a") != device
    assert device_of(again, "street") is None
    assert device_of(again[:-2] + "xx", "gw_a1") is None  # edited: not ours


def test_a_device_cookie_expires():
    cookie = device_cookie_after_login(None, "gw_a1")
    with override_settings(LINLI_DEVICE_COOKIE_DAYS=0):
        assert device_of(cookie, "gw_a1") is None


def test_the_retired_lockout_minutes_variable_is_refused_naming_its_replacement(monkeypatch):
    monkeypatch.setenv("LINLI_LOCKOUT_MINUTES", "15")
    with pytest.raises(ConfigError, match=r"LINLI_LOCKOUT_MINUTES: no longer used; .*LINLI_LOCKOUT_MAX_MINUTES"):
        env_retired("LINLI_LOCKOUT_MINUTES", "see LINLI_LOCKOUT_MAX_MINUTES")
