"""Writes of the accounts app: users, area bindings, API keys and the login-failure counter."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import ApiKey, AreaAssignment, LoginThrottle, User
from linli.accounts.workflow import ADMIN_ROLES, API_SCOPES
from linli.core.actors import Actor, SystemActor
from linli.core.errors import ErrorCode, ValidationFailed
from linli.core.services import audit_record
from linli.geo.models import Area

API_KEY_PREFIX_LEN = 8
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


def user_create(
    *,
    actor: Actor,
    username: str,
    password: str | None,
    role: Role,
    display_name: str = "",
    department: str = "",
    areas: Iterable[tuple[Area, AssignmentKind]] = (),
    is_superuser: bool = False,
) -> User:
    """Create a user bound to areas; ``password=None`` leaves the account unusable until set."""
    if not username.strip():
        raise ValidationFailed("username", _("用户名不能为空"))
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationFailed("username", _("用户名已存在"), code=ErrorCode.CONFLICT)
        # Only district admins and superusers may enter Django's admin.
        user = User(
            username=username, role=role, display_name=display_name, department=department,
            is_staff=is_superuser or role in ADMIN_ROLES, is_superuser=is_superuser,
        )
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save()
        for area, kind in areas:
            assignment_create(actor=actor, user=user, area=area, kind=kind)
        audit_record(actor=actor, action="user.create", target_type="accounts.user",
                     target_id=user.pk, fields=["username", "role"])
    return user


def assignment_create(*, actor: Actor, user: User, area: Area, kind: AssignmentKind) -> AreaAssignment:
    with transaction.atomic():
        try:
            with transaction.atomic():
                assignment = AreaAssignment.objects.create(user=user, area=area, kind=kind)
        except IntegrityError:
            raise ValidationFailed(
                "area", _("该区域已有主责网格员或该用户已绑定此区域"), code=ErrorCode.CONFLICT,
            ) from None
        audit_record(actor=actor, action="user.assign_area", target_type="accounts.user",
                     target_id=user.pk, fields=["area", "kind"])
    return assignment


def _hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_key_create(
    *, actor: Actor, name: str, scopes: list[str], areas: Iterable[Area],
) -> tuple[ApiKey, str]:
    """Create a key and return it with the secret, which is shown once and never stored."""
    if not name.strip():
        raise ValidationFailed("name", _("名称不能为空"))
    unknown = set(scopes) - API_SCOPES
    if unknown:
        raise ValidationFailed("scopes", _("未知的权限: %(scopes)s") % {"scopes": ", ".join(sorted(unknown))})
    prefix = secrets.token_hex(API_KEY_PREFIX_LEN // 2)
    raw = f"ll_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name, prefix=prefix, key_hash=_hash_key(raw), scopes=sorted(set(scopes)),
            created_by=actor if isinstance(actor, User) else None,
        )
        key.areas.set(list(areas))
        audit_record(actor=actor, action="apikey.create", target_type="accounts.apikey",
                     target_id=key.pk, fields=["scopes", "areas"])
    return key, raw


def api_key_revoke(*, actor: Actor, key: ApiKey) -> ApiKey:
    """Revoke a key at once; revoking twice keeps the first time."""
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=key.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at", "updated_at"])
            audit_record(actor=actor, action="apikey.revoke", target_type="accounts.apikey",
                         target_id=locked.pk, fields=["revoked_at"])
    # The caller's instance reflects the revocation too; this process forgets it at once
    # (others within ``LINLI_API_KEY_CACHE_SECONDS``).
    key.revoked_at = locked.revoked_at
    _key_cache_forget(locked.key_hash)
    return locked


# Per process: key hash -> (key or None, when it was read). An integration reporting
# hundreds of cases a second would otherwise cost a query per request for the same row.
_key_cache: dict[str, tuple[ApiKey | None, float]] = {}
_key_cache_lock = threading.Lock()
_KEY_CACHE_MAX = 10_000


def _key_cache_forget(key_hash: str) -> None:
    with _key_cache_lock:
        _key_cache.pop(key_hash, None)


def api_key_authenticate(*, raw: str) -> ApiKey | None:
    """The active key matching ``raw``; revoked or unknown keys give ``None``.

    Answers are cached per process for ``LINLI_API_KEY_CACHE_SECONDS`` (0: never): a key
    revoked in another process is refused within that time, in this one at once."""
    key_hash = _hash_key(raw)
    ttl = float(getattr(settings, "LINLI_API_KEY_CACHE_SECONDS", 0))
    now_mono = time.monotonic()
    if ttl > 0:
        with _key_cache_lock:
            cached = _key_cache.get(key_hash)
        if cached is not None and now_mono - cached[1] < ttl:
            return cached[0]
    key = ApiKey.objects.filter(key_hash=key_hash, revoked_at__isnull=True).first()
    if key is not None:
        now = timezone.now()
        # At most one write a minute per key: a busy gateway must not turn reads into writes.
        if key.last_used_at is None or now - key.last_used_at >= timedelta(minutes=1):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
    if ttl > 0:
        with _key_cache_lock:
            if len(_key_cache) >= _KEY_CACHE_MAX:  # bounded: unknown keys must not grow it forever
                _key_cache.clear()
            _key_cache[key_hash] = (key, now_mono)
    return key
