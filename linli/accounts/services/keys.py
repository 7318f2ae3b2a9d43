"""Integration API keys: created with a secret shown once, revoked, authenticated (cached)."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import ApiKey, User
from linli.accounts.workflow import API_SCOPES
from linli.core.actors import Actor
from linli.core.errors import ValidationFailed
from linli.core.services import audit_record
from linli.geo.models import Area

API_KEY_PREFIX_LEN = 8


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
