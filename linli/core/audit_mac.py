"""The audit chain's keyed MACs: entries, the legacy anchor, and checkpoints.

Each entry's ``hash`` is HMAC-SHA-256, under the key named by its ``key_id``, of the previous
entry's ``hash`` and the entry's content. The keys (``LINLI_AUDIT_KEYS``) live outside the
database, so whoever can rewrite rows but does not hold a key cannot recompute the chain after
a change. The first key MACs new entries; every listed key verifies the entries it made, so a
key is added for rotation and kept for as long as its entries are kept.

Entries written before keyed MACs (``key_id`` empty) carry the plain SHA-256 of the earlier
chain; the head pins the last of them with a MAC (:func:`legacy_anchor_mac`), so they cannot be
rewritten either — and no later entry may be one of them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings

GENESIS_HASH = "0" * 64
LEGACY_KEY_ID = ""


class AuditKeyError(Exception):
    """An entry names a MAC key that is not configured."""


def audit_keys() -> dict[str, bytes]:
    keys: dict[str, bytes] = settings.LINLI_AUDIT_KEYS
    return keys


def current_audit_key_id() -> str:
    key_id: str = settings.LINLI_AUDIT_CURRENT_KEY
    return key_id


def _key(key_id: str) -> bytes:
    key = audit_keys().get(key_id)
    if key is None:
        raise AuditKeyError(f"audit key {key_id!r} is not configured (LINLI_AUDIT_KEYS)")
    return key


def entry_body(
    *, seq: int, created_at: datetime, actor_id: int | None, actor_label: str, action: str,
    target_type: str, target_id: str, fields: Sequence[str], reason: str, request_id: str,
) -> bytes:
    """What an entry's MAC covers besides the previous MAC, as canonical JSON."""
    return json.dumps(
        [seq, created_at.isoformat(), actor_id, actor_label, action, target_type, target_id,
         list(fields), reason, request_id],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


class EntrySigner:
    """MACs entries under one key, through the one-shot C HMAC (an HMAC object copied per
    entry cost a batch of 100,000 entries four times the old unkeyed digest)."""

    def __init__(self, key_id: str | None = None) -> None:
        self.key_id = current_audit_key_id() if key_id is None else key_id
        self._key = _key(self.key_id)
        self._prefix = f"linli.audit.v2|{self.key_id}|".encode()

    def mac(self, prev_hash: str, body: bytes) -> str:
        return hmac.digest(self._key, self._prefix + prev_hash.encode() + b"|" + body, "sha256").hex()


def legacy_digest(prev_hash: str, body: bytes) -> str:
    """The unkeyed SHA-256 of entries written before keyed MACs (verification only)."""
    return hashlib.sha256(prev_hash.encode() + b"|" + body).hexdigest()


def legacy_anchor_mac(*, key_id: str, seq: int, last_hash: str) -> str:
    """Pins the unkeyed part of a chain: entries 1..``seq`` ending in ``last_hash``."""
    message = f"linli.audit.legacy-anchor|{seq}|{last_hash}".encode()
    return hmac.new(_key(key_id), message, hashlib.sha256).hexdigest()


def checkpoint_signature(*, key_id: str, text: str) -> str:
    """The MAC that signs a checkpoint file's lines (domain-separated from entry MACs)."""
    message = f"linli.audit.checkpoint|{text}".encode()
    return hmac.new(_key(key_id), message, hashlib.sha256).hexdigest()


def macs_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
