"""Bulk writes of an import, inside the caller's transaction: PostgreSQL ``COPY`` (psycopg 3)
or SQLite ``executemany``; ids reserved up front so rows can point at each other without a
round trip per row.

Persons are written exactly as :func:`linli.registry.services.person_create` writes them:
the same validators, encryption bound to the same field names, blind indexes and masks.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from linli.core import pii
from linli.core.bulk import bulk_insert, bulk_update, db_value, reserve_ids
from linli.registry.models import Person
from linli.registry.text import PII_ID_NUMBER, PII_PHONE, pinyin_keys

# --- persons ---------------------------------------------------------------------------


@dataclass
class PersonValues:
    """The registry columns of one person, in plain form (ID number and phone normalised)."""

    name: str
    id_number: str = ""
    phone: str = ""
    birth_date: date | None = None
    sex: str = ""
    hukou: str = "local"
    ethnicity: str = "汉族"
    room_id: int | None = None
    building_id: int | None = None
    grid_id: int | None = None
    is_deceased: bool = False
    deceased_on: date | None = None


PERSON_FIELDS: tuple[str, ...] = (
    "name", "name_pinyin", "name_initials", "id_number_enc", "id_number_bidx", "id_number_masked",
    "birth_date", "sex", "phone_enc", "phone_bidx", "phone_masked", "hukou", "ethnicity", "room",
    "building", "grid", "is_deceased", "deceased_on",
)


class Sealer:
    """:func:`linli.core.pii.encrypt` for many values: the current key and its cipher are
    looked up once, not per value (the settings lookups cost more than the AES itself).
    Same token format (``<key id>$<base64 nonce+ciphertext>``, the field bound as associated
    data), opened by :func:`linli.core.pii.decrypt`."""

    def __init__(self) -> None:
        self.key_id = pii.current_key_id()
        key = dict(settings.LINLI_PII_KEYS).get(self.key_id)
        if key is None:
            raise pii.PiiError(f"current key {self.key_id!r} is not among the configured keys")
        self._aead = AESGCM(key)
        self._bound: dict[str, bytes] = {}

    def seal(self, plaintext: str, *, field: str) -> str:
        bound = self._bound.get(field)
        if bound is None:
            bound = self._bound[field] = field.encode()
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), bound)
        return f"{self.key_id}${base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"


def id_number_forms(value: str, sealer: Sealer | None = None) -> tuple[str, str, str]:
    """(ciphertext, blind index, mask) of a normalised ID number, as the registry stores it."""
    if not value:
        return "", "", ""
    enc = sealer.seal(value, field=PII_ID_NUMBER) if sealer else pii.encrypt(value, field=PII_ID_NUMBER)
    return enc, pii.blind_index(value, field=PII_ID_NUMBER), pii.mask_id_number(value)


def phone_forms(value: str, sealer: Sealer | None = None) -> tuple[str, str, str]:
    if not value:
        return "", "", ""
    enc = sealer.seal(value, field=PII_PHONE) if sealer else pii.encrypt(value, field=PII_PHONE)
    return enc, pii.blind_index(value, field=PII_PHONE), pii.mask_phone(value)


def id_number_keys(value: str) -> tuple[str, str]:
    """(blind index, mask): what matching and display need, without the encryption."""
    return pii.blind_index(value, field=PII_ID_NUMBER), pii.mask_id_number(value)


def phone_keys(value: str) -> tuple[str, str]:
    return pii.blind_index(value, field=PII_PHONE), pii.mask_phone(value)


def person_row(values: PersonValues, sealer: Sealer | None = None) -> tuple[object, ...]:
    full, initials = pinyin_keys(values.name)
    return (
        values.name, full, initials, *id_number_forms(values.id_number, sealer), values.birth_date, values.sex,
        *phone_forms(values.phone, sealer), values.hukou, values.ethnicity, values.room_id, values.building_id,
        values.grid_id, values.is_deceased, values.deceased_on,
    )


def persons_bulk_create(people: Sequence[PersonValues], *, now: datetime) -> list[int]:
    """Create persons in bulk; returns their ids in input order."""
    ids = reserve_ids(Person, len(people))
    stamp = db_value(now)
    sealer = Sealer()
    rows = ((pk, stamp, stamp, "", *(db_value(v) for v in person_row(p, sealer)))
            for pk, p in zip(ids, people, strict=True))
    bulk_insert(Person, ("id", "created_at", "updated_at", "relation", *PERSON_FIELDS), rows)
    return ids


def persons_bulk_update(people: Sequence[tuple[int, PersonValues]], *, now: datetime) -> int:
    """Rewrite the fused columns of existing persons (``updated_at`` set to ``now``)."""
    stamp = db_value(now)
    sealer = Sealer()
    rows = [(pk, stamp, *(db_value(v) for v in person_row(p, sealer))) for pk, p in people]
    return bulk_update(Person, ("updated_at", *PERSON_FIELDS), rows)
