"""Logins: failure counters with backoff (per device, per username and source, per username,
per address), security notices, pruning, and the audited success and unlock."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from linli.accounts.choices import NoticeKind, Permission
from linli.accounts.models import LoginThrottle, SecurityNotice, User
from linli.accounts.workflow import (
    ROLE_PERMISSIONS,
    LoginClient,
    login_backoff,
    login_username,
)
from linli.core.actors import Actor, SystemActor
from linli.core.services import audit_record

API_KEY_PREFIX_LEN = 8
IP_WINDOW = timedelta(hours=1)
# Who hears of an account or an address being throttled.
MANAGE_ACCOUNTS_ROLES = sorted(role for role, perms in ROLE_PERMISSIONS.items() if Permission.MANAGE_ACCOUNTS in perms)
logger = logging.getLogger("linli.security")


def _settings_waits() -> tuple[timedelta, timedelta, timedelta]:
    return (timedelta(seconds=settings.LINLI_LOCKOUT_BACKOFF_SECONDS),
            timedelta(minutes=settings.LINLI_LOCKOUT_MAX_MINUTES),
            timedelta(hours=settings.LINLI_LOCKOUT_FORGET_HOURS))


def _bump_backoff(key: str, *, free: int, now: datetime) -> tuple[datetime | None, int]:
    """Count one failure under ``key``; returns (the lock this failure starts or ``None``, the
    count). Failures while the counter refuses are not counted: they never lengthen a wait.
    Runs inside the caller's transaction; the row lock serialises concurrent failures."""
    first, longest, forget = _settings_waits()
    row, _created = LoginThrottle.objects.select_for_update().get_or_create(
        key=key, defaults={"window_started_at": now},
    )
    if row.locked_until and row.locked_until > now:
        return None, row.failures
    if row.last_failure_at and row.last_failure_at + forget <= now:
        row.failures, row.window_started_at = 0, now  # a quiet spell: start over
    row.failures += 1
    row.last_failure_at = now
    wait = login_backoff(row.failures, free=free, first=first, longest=longest)
    row.locked_until = now + wait if wait else None
    row.save()
    return row.locked_until, row.failures


def _bump_window(key: str, *, limit: int, window: timedelta, now: datetime) -> datetime | None:
    """Count one failure under ``key`` in a fixed window (the per-address spraying throttle);
    returns the lock this failure starts, if it does."""
    row, _created = LoginThrottle.objects.select_for_update().get_or_create(
        key=key, defaults={"window_started_at": now},
    )
    if (row.locked_until and row.locked_until <= now) or row.window_started_at + window <= now:
        row.failures, row.locked_until, row.window_started_at = 0, None, now
    row.failures += 1
    row.last_failure_at = now
    starts = row.failures >= limit and row.locked_until is None
    if starts:
        row.locked_until = now + window
    row.save()
    return row.locked_until if starts else None


@dataclass(frozen=True)
class _Lock:
    scope: str  # device, source, account or address
    until: datetime
    failures: int


def login_failure_record(*, client: LoginClient, now: datetime | None = None, request_id: str = "") -> None:
    """Count a failed login of ``client``: against its known device only, or — for an unknown
    client — against the username from its source (``LINLI_LOCKOUT_FAILURES`` free), the
    username from anywhere (``LINLI_LOCKOUT_ACCOUNT_FAILURES`` free) and its address (every
    username, ``LINLI_IP_THROTTLE_PER_HOUR``). A counter past its free failures refuses for
    ``LINLI_LOCKOUT_BACKOFF_SECONDS``, doubling with each further failure up to
    ``LINLI_LOCKOUT_MAX_MINUTES``.

    Each lock that starts is audited and told to the user and, for the username and address
    counters, to the administrators (:func:`security_notice_send`)."""
    now = now or timezone.now()
    free = settings.LINLI_LOCKOUT_FAILURES
    locks: list[_Lock] = []
    with transaction.atomic():
        if client.device:
            until, count = _bump_backoff(client.device_key, free=free, now=now)
            if until:
                locks.append(_Lock("device", until, count))
        else:
            until, count = _bump_backoff(client.source_key, free=free, now=now)
            if until:
                locks.append(_Lock("source", until, count))
            until, count = _bump_backoff(client.account_key, free=settings.LINLI_LOCKOUT_ACCOUNT_FAILURES, now=now)
            if until:
                locks.append(_Lock("account", until, count))
            if client.ip_key:
                until = _bump_window(client.ip_key, limit=settings.LINLI_IP_THROTTLE_PER_HOUR, window=IP_WINDOW, now=now)
                if until:
                    locks.append(_Lock("address", until, settings.LINLI_IP_THROTTLE_PER_HOUR))
        if not locks:
            return
        for lock in locks:
            # Only the start of a wait is audited; single failures would drown the log.
            audit_record(actor=SystemActor("auth"), action="auth.lockout", target_type="username",
                         target_id=client.username[:64], request_id=request_id,
                         reason=f"scope={lock.scope} source={client.source} failures={lock.failures} "
                                f"until={lock.until.isoformat(timespec='seconds')}")
        _notify_locks(client=client, locks=locks, now=now)
        # A wait is what a password-guessing run produces, and such a run leaves many
        # counters behind: tidy them up. Enqueued in this transaction (database backend);
        # imported here because the tasks module imports this one.
        from linli.accounts.tasks import login_throttles_prune_task

        login_throttles_prune_task.enqueue()


def _notify_locks(*, client: LoginClient, locks: list[_Lock], now: datetime) -> None:
    user = User.objects.filter(username__iexact=client.username, is_active=True).first()
    admins = [admin for admin in User.objects.filter(role__in=MANAGE_ACCOUNTS_ROLES, is_active=True)
              if user is None or admin.pk != user.pk]
    for lock in locks:
        if user is not None and lock.scope != "address":
            security_notice_send(recipients=[user], kind=NoticeKind.YOUR_LOGIN_THROTTLED, username=client.username,
                                 source=client.source, failures=lock.failures, until=lock.until, now=now)
        if lock.scope == "account" and user is not None:
            security_notice_send(recipients=admins, kind=NoticeKind.ACCOUNT_THROTTLED, username=client.username,
                                 source=client.source, failures=lock.failures, until=lock.until, now=now)
        if lock.scope == "address":
            security_notice_send(recipients=admins, kind=NoticeKind.SOURCE_THROTTLED, username="",
                                 source=client.ip or client.source, failures=lock.failures, until=lock.until, now=now)


NOTICE_REPEAT = timedelta(hours=1)

# Called with the fresh recipients of each notice, in the caller's transaction: the
# notification app (a higher layer) registers here in its AppConfig.ready to deliver them.
security_notice_listeners: list[Callable[..., None]] = []


def security_notice_send(
    *, recipients: Iterable[User], kind: NoticeKind, username: str, source: str, failures: int,
    until: datetime | None, now: datetime | None = None,
) -> int:
    """Record a security notice for each recipient (read in their notification inbox, which
    notify's listener fills) and log it; one per recipient, kind and subject an hour, so a
    long guessing run does not flood anybody. Returns how many were written. Runs in the caller's transaction.

    The hook for the notification app: delivering these over its channels (SMS, WeChat,
    e-mail) belongs here, enqueued on commit, next to the inbox rows."""
    now = now or timezone.now()
    subject = {"username": username} if username else {"source": source}
    fresh = [
        user for user in recipients
        if not SecurityNotice.objects.filter(recipient=user, kind=kind, created_at__gt=now - NOTICE_REPEAT,
                                             read_at__isnull=True, **subject).exists()
    ]
    SecurityNotice.objects.bulk_create([
        SecurityNotice(recipient=user, kind=kind, username=username, source=source, failures=failures, until=until)
        for user in fresh
    ])
    if fresh:
        logger.warning("security notice %s: username=%s source=%s failures=%s until=%s to %s", kind, username,
                       source, failures, until, ", ".join(u.username for u in fresh))
        for listener in security_notice_listeners:
            listener(recipients=fresh, kind=str(kind), username=username, source=source, failures=failures,
                     until=until, now=now)
    return len(fresh)


def login_throttles_prune(*, actor: Actor, now: datetime | None = None) -> int:
    """Delete counters that no longer count anything; returns how many.

    The address counters once their hour (or lock) is over; the others once they refuse
    nothing and ``LINLI_LOCKOUT_FORGET_HOURS`` passed since their last failure — the next
    failure would start them over anyway, so deleting them changes no decision. Safe to
    run twice or in parallel.
    """
    now = now or timezone.now()
    _first, _longest, forget = _settings_waits()
    idle = Q(locked_until__isnull=True) | Q(locked_until__lte=now)
    stale = (Q(key__startswith="ip:") & (Q(locked_until__lte=now) | Q(
        locked_until__isnull=True, window_started_at__lte=now - IP_WINDOW)))
    stale |= ~Q(key__startswith="ip:") & idle & Q(last_failure_at__lte=now - forget)
    with transaction.atomic():
        deleted, _rows = LoginThrottle.objects.filter(stale).delete()
        if deleted:
            audit_record(actor=actor, action="auth.throttles_prune",
                         target_type="accounts.loginthrottle", reason=f"rows={deleted}")
    return deleted


def login_success_record(*, user: User, client: LoginClient, request_id: str = "") -> None:
    """A verified password: the counter of this client (its device, or its source for the
    username) starts over, and the login is audited. The username's counter of unknown
    clients keeps counting: a guessing run elsewhere goes on."""
    with transaction.atomic():
        LoginThrottle.objects.filter(key=client.device_key if client.device else client.source_key).delete()
        audit_record(actor=user, action="auth.login", target_type="accounts.user",
                     target_id=user.pk, request_id=request_id,
                     reason="known device" if client.device else "")


def username_counters(username: str) -> Q:
    """Every failure counter of a username: its own, its sources' and its devices'."""
    name = login_username(username)
    return Q(key=f"user:{name}") | Q(key__startswith=f"src:{name}|") | Q(key__startswith=f"dev:{name}|")


def login_unlock(*, actor: Actor, username: str) -> bool:
    """Lift every wait of a username early (an administrator's decision: its devices, its
    sources and the username's own counter); True if there was one."""
    name = login_username(username)
    with transaction.atomic():
        deleted, _rows = LoginThrottle.objects.filter(username_counters(name)).delete()
        if deleted:
            audit_record(actor=actor, action="auth.unlock", target_type="username",
                         target_id=name[:64])
    return bool(deleted)
