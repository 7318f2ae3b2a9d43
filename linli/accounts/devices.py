"""Device cookies: a browser that has logged in as a user before is known for that user.

OWASP's "Slow Down Online Guessing Attacks with Device Cookies": a successful login leaves a
signed cookie naming the username and a random device id. Failures from that browser count
against that device only, so someone guessing a password elsewhere cannot lock the user out of
the devices they use; a browser without the cookie is an unknown client, throttled by username
and source. The cookie proves nothing about identity — the password is still checked — and is
signed with ``SECRET_KEY`` so it cannot be made up. One cookie holds up to five users (a shared
office computer).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing

COOKIE = "linli_device"
_SALT = "linli.accounts.device"
_USERS_PER_COOKIE = 5


def _max_age() -> timedelta:
    return timedelta(days=settings.LINLI_DEVICE_COOKIE_DAYS)


def _entries(cookie: str | None) -> list[tuple[str, str]]:
    if not cookie:
        return []
    try:
        value = signing.loads(cookie, salt=_SALT, max_age=_max_age())
    except signing.BadSignature:  # forged, edited or expired: an unknown client
        return []
    if not isinstance(value, list):
        return []
    return [(str(entry[0]), str(entry[1])) for entry in value
            if isinstance(entry, list) and len(entry) == 2]


def device_of(cookie: str | None, username: str) -> str | None:
    """The device id the cookie holds for ``username`` (normalised), if it is a valid one."""
    return next((device for name, device in _entries(cookie) if name == username), None)


def device_cookie_after_login(cookie: str | None, username: str) -> str:
    """The cookie to send after a successful login as ``username``: its device id kept (or a
    new one), that user first, at most five users, the age restarted."""
    entries = _entries(cookie)
    device = next((d for name, d in entries if name == username), None) or secrets.token_urlsafe(16)
    kept = [[username, device]] + [[name, d] for name, d in entries if name != username]
    return signing.dumps(kept[:_USERS_PER_COOKIE], salt=_SALT, compress=True)


def device_cookie_max_age() -> int:
    return int(_max_age().total_seconds())
