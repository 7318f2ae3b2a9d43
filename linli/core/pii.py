"""Personal data at rest: AES-GCM encryption with rotatable keys, an HMAC blind index, masks.

Token format ``<key id>$<base64url(nonce ‖ ciphertext ‖ tag)>``. The field name is bound as
associated data, so a ciphertext copied into another column does not decrypt. The blind
index is keyed and domain-separated per field; it allows exact lookups only. Suffix
indexes (last 4 / last 6 characters) use a key derived from it, see :func:`suffix_index`.

Rotation: ``LINLI_PII_KEYS`` lists every key that may decrypt, the current key encrypts.
``linli_pii_rotate`` re-encrypts tokens of older keys; until then they still decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

_NONCE_BYTES = 12
_TAG_BYTES = 16


class PiiError(Exception):
    """A ciphertext that cannot be decrypted with any configured key."""


def _keys() -> dict[str, bytes]:
    keys: dict[str, bytes] = settings.LINLI_PII_KEYS
    return keys


def current_key_id() -> str:
    key_id: str = settings.LINLI_PII_CURRENT_KEY
    return key_id


def encrypt(plaintext: str, *, field: str, key_id: str | None = None) -> str:
    """Seal ``plaintext`` with the current key (or the configured key ``key_id``), bound to
    ``field`` (e.g. ``person.phone``)."""
    key_id = current_key_id() if key_id is None else key_id
    key = _keys().get(key_id)
    if key is None:
        raise PiiError(f"current key {key_id!r} is not among the configured keys")
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), field.encode())
    return f"{key_id}${base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"


def encrypt_many(plaintexts: Sequence[str], *, field: str) -> list[str]:
    """:func:`encrypt` for many values (an import's ID numbers and phones): the key and its
    cipher are looked up once and the nonces drawn in one call — per value, the settings
    lookups and the system call cost more than the AES itself. Same token format."""
    if not plaintexts:
        return []
    key_id = current_key_id()
    key = _keys().get(key_id)
    if key is None:
        raise PiiError(f"current key {key_id!r} is not among the configured keys")
    seal = AESGCM(key).encrypt
    bound = field.encode()
    nonces = os.urandom(_NONCE_BYTES * len(plaintexts))
    prefix = f"{key_id}$"
    encode = base64.urlsafe_b64encode
    out: list[str] = []
    for at, plaintext in enumerate(plaintexts):
        nonce = nonces[at * _NONCE_BYTES:(at + 1) * _NONCE_BYTES]
        out.append(prefix + encode(nonce + seal(nonce, plaintext.encode("utf-8"), bound)).decode("ascii"))
    return out


def decrypt(token: str, *, field: str) -> str:
    """Open a token written by :func:`encrypt` for the same ``field``; else :class:`PiiError`."""
    key_id, sep, payload = token.partition("$")
    key = _keys().get(key_id)
    if not sep or key is None:
        raise PiiError(f"no key {key_id!r} configured for {field}")
    try:
        raw = base64.urlsafe_b64decode(payload.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise PiiError(f"{field}: ciphertext is not valid base64") from None
    if len(raw) < _NONCE_BYTES + _TAG_BYTES:
        raise PiiError(f"{field}: ciphertext is too short")
    try:
        plain = AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], field.encode())
    except InvalidTag:
        raise PiiError(f"{field}: ciphertext fails authentication") from None
    return plain.decode("utf-8")


def key_id_of(token: str) -> str:
    return token.partition("$")[0]


def needs_rotation(token: str) -> bool:
    """True for a non-empty token sealed with a key other than the current one."""
    return bool(token) and key_id_of(token) != current_key_id()


def reencrypt(token: str, *, field: str) -> str:
    """The same plaintext sealed with the current key (a fresh nonce every time)."""
    return encrypt(decrypt(token, field=field), field=field)


def blind_index(value: str, *, field: str) -> str:
    """Keyed hash for exact lookup; callers pass the *normalised* value."""
    key: bytes = settings.LINLI_BLIND_INDEX_KEY
    digest = hmac.new(key, f"{field}\x00{value}".encode(), hashlib.sha256).hexdigest()
    return digest[:32]


def blind_index_many(values: Sequence[str], *, field: str) -> list[str]:
    """:func:`blind_index` of many values, the key and the field prefix prepared once."""
    key: bytes = settings.LINLI_BLIND_INDEX_KEY
    base = hmac.new(key, f"{field}\x00".encode(), hashlib.sha256)
    out: list[str] = []
    for value in values:
        digest = base.copy()
        digest.update(value.encode())
        out.append(digest.hexdigest()[:32])
    return out


# Suffix lookups ("the last 4 of the ID number", "phone ending 5678"): a separate index per
# length, under a key derived from the blind-index key, so a suffix digest never equals or
# helps to find a full-number digest. What it gives away is in docs/architecture.md.
SUFFIX_LENGTHS: tuple[int, ...] = (4, 6)
_SUFFIX_KEY_LABEL = b"linli/suffix-index/v1"
_SUFFIX_DIGEST_CHARS = 16


def _suffix_base(field: str, length: int) -> hmac.HMAC:
    blind_key: bytes = settings.LINLI_BLIND_INDEX_KEY
    derived = hmac.new(blind_key, _SUFFIX_KEY_LABEL, hashlib.sha256).digest()
    return hmac.new(derived, f"{field}\x00{length}\x00".encode(), hashlib.sha256)


def suffix_index(value: str, *, field: str, length: int) -> str:
    """Keyed hash of the last ``length`` characters of a *normalised* value ('' if shorter)."""
    if len(value) < length:
        return ""
    digest = _suffix_base(field, length)
    digest.update(value[-length:].encode())
    return digest.hexdigest()[:_SUFFIX_DIGEST_CHARS]


def suffix_indexes(value: str, *, field: str) -> tuple[str, ...]:
    """:func:`suffix_index` for each of :data:`SUFFIX_LENGTHS` ('' for an empty value)."""
    return tuple(suffix_index(value, field=field, length=n) if value else "" for n in SUFFIX_LENGTHS)


def suffix_indexes_many(values: Sequence[str], *, field: str) -> list[tuple[str, ...]]:
    """:func:`suffix_indexes` of many values, the derived keys prepared once."""
    bases = [_suffix_base(field, n) for n in SUFFIX_LENGTHS]
    out: list[tuple[str, ...]] = []
    for value in values:
        row: list[str] = []
        for n, base in zip(SUFFIX_LENGTHS, bases, strict=True):
            if not value or len(value) < n:
                row.append("")
                continue
            digest = base.copy()
            digest.update(value[-n:].encode())
            row.append(digest.hexdigest()[:_SUFFIX_DIGEST_CHARS])
        out.append(tuple(row))
    return out


def mask_id_number(value: str) -> str:
    """``330102199001011234`` → ``3301**********1234`` (first 4, last 4)."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``; landlines keep the last 4 only."""
    if len(value) == 11 and value.startswith("1"):
        return value[:3] + "****" + value[-4:]
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]


def mask_name(value: str) -> str:
    """``王小明`` → ``王**``, ``王明`` → ``王*``: surname only, for lists shown without a need."""
    if not value:
        return value
    return value[0] + "*" * max(len(value) - 1, 1)
