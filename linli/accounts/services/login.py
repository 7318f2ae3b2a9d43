"""Logins: the failure counters (username lockout, per-IP throttle), their pruning, and
the audited success and unlock."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from linli.accounts.models import LoginThrottle, User
from linli.core.actors import Actor, SystemActor
from linli.core.services import audit_record

IP_WINDOW = timedelta(hours=1)


def _normalise_username(username: str) -> str:
    # Case-folded so that "Admin" and "admin" share one counter.
    return username.strip().lower()[:150]


def _username_key(username: str) -> str:
    return f"user:{_normalise_username(username)}"


def login_locked_until(*, username: str, now: datetime | None = None) -> datetime | None:
    """When the username is locked out, until when; else ``None``. Locks always expire."""
    now = now or timezone.now()
    row = LoginThrottle.objects.filter(key=_username_key(username)).first()
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return row.locked_until


def _bump(key: str, *, limit: int, window: timedelta, now: datetime) -> bool:
    """Count one failure under ``key``; True when this failure starts a lock.

    Runs inside the caller's transaction; the row lock serialises concurrent failures.
    """
    row, _created = LoginThrottle.objects.select_for_update().get_or_create(
        key=key, defaults={"window_started_at": now},
    )
    # A lock that has run out, or a stale window, starts counting afresh: never permanent.
    if (row.locked_until and row.locked_until <= now) or row.window_started_at + window <= now:
        row.failures = 0
        row.locked_until = None
        row.window_started_at = now
    row.failures += 1
    starts_lock = row.failures >= limit and row.locked_until is None
    if starts_lock:
        row.locked_until = now + window
    row.save()
    return starts_lock


def login_failure_record(
    *, username: str, ip: str | None, now: datetime | None = None, request_id: str = "",
) -> None:
    """Count a failed login for the username (lockout) and for the IP (separate throttle).

    The two counters never touch each other: a busy IP (a carrier NAT shared by grid
    workers) does not lock any username, and a username is locked from every IP.
    """
    now = now or timezone.now()
    minutes = timedelta(minutes=settings.LINLI_LOCKOUT_MINUTES)
    with transaction.atomic():
        locked = _bump(
            _username_key(username), limit=settings.LINLI_LOCKOUT_FAILURES, window=minutes, now=now,
        )
        ip_locked = bool(ip) and _bump(f"ip:{ip}", limit=settings.LINLI_IP_THROTTLE_PER_HOUR,
                                       window=IP_WINDOW, now=now)
        if locked:
            # Only the start of a lock is audited; single failures would drown the log.
            audit_record(actor=SystemActor("auth"), action="auth.lockout",
                         target_type="username", target_id=_normalise_username(username)[:64],
                         request_id=request_id)
        if locked or ip_locked:
            # A lock is what a password-guessing run produces, and such a run leaves many
            # counters behind: tidy them up. Enqueued in this transaction (database backend);
            # imported here because the tasks module imports this one.
            from linli.accounts.tasks import login_throttles_prune_task

            login_throttles_prune_task.enqueue()


def login_throttles_prune(*, actor: Actor, now: datetime | None = None) -> int:
    """Delete counters that no longer count anything (lock or window over); returns how many.

    Such a row would be reset by the next failure anyway, so deleting it changes no
    decision; live locks and open windows are kept. Safe to run twice or in parallel.
    """
    now = now or timezone.now()
    user_window = timedelta(minutes=settings.LINLI_LOCKOUT_MINUTES)
    stale = Q(locked_until__lte=now) | Q(
        locked_until__isnull=True, key__startswith="user:", window_started_at__lte=now - user_window,
    ) | Q(locked_until__isnull=True, key__startswith="ip:", window_started_at__lte=now - IP_WINDOW)
    with transaction.atomic():
        deleted, _rows = LoginThrottle.objects.filter(stale).delete()
        if deleted:
            audit_record(actor=actor, action="auth.throttles_prune",
                         target_type="accounts.loginthrottle", reason=f"rows={deleted}")
    return deleted


def ip_throttled(*, ip: str | None, now: datetime | None = None) -> bool:
    """Whether too many failures came from ``ip`` in the last hour (refuses every username)."""
    if not ip:
        return False
    now = now or timezone.now()
    row = LoginThrottle.objects.filter(key=f"ip:{ip}").first()
    return bool(row and row.locked_until and row.locked_until > now)


def login_success_record(*, user: User, request_id: str = "") -> None:
    """A verified password: clear the username's failure counter and audit the login."""
    with transaction.atomic():
        LoginThrottle.objects.filter(key=_username_key(user.get_username())).delete()
        audit_record(actor=user, action="auth.login", target_type="accounts.user",
                     target_id=user.pk, request_id=request_id)


def login_unlock(*, actor: Actor, username: str) -> bool:
    """Lift a username's lockout early (an administrator's decision); True if one existed."""
    with transaction.atomic():
        deleted, _rows = LoginThrottle.objects.filter(key=_username_key(username)).delete()
        if deleted:
            audit_record(actor=actor, action="auth.unlock", target_type="username",
                         target_id=_normalise_username(username)[:64])
    return bool(deleted)
