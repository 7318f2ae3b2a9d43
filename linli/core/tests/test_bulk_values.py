"""``bulk_insert`` with shared timestamps and ``int_list`` as a lookup value: what goes in
comes back exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import transaction

from linli.core.bulk import Among, bulk_insert, int_list
from linli.core.models import AuditEntry

pytestmark = pytest.mark.django_db

FIELDS = ("seq", "created_at", "actor_id", "actor_label", "action", "target_type", "target_id", "fields",
          "reason", "request_id", "key_id", "prev_hash", "hash")


def _rows(first_seq: int, count: int, at: datetime) -> list[tuple[object, ...]]:
    return [(first_seq + n, at, None, f"job:{n}", "bulk.test", "t", str(n), "[]", "", "", "", "",
             f"{first_seq + n:064d}") for n in range(count)]


def test_rows_sharing_one_timestamp_read_back_with_that_moment() -> None:
    # given 300 rows that share one timestamp in another zone (with microseconds) and one row of their own
    shared = datetime(2026, 3, 5, 8, 9, 10, 123456, tzinfo=timezone(timedelta(hours=8)))
    alone = datetime(2026, 3, 6, 1, 2, 3, tzinfo=UTC)
    # when
    with transaction.atomic():
        written = bulk_insert(AuditEntry, FIELDS, [*_rows(10**12, 300, shared), *_rows(10**12 + 300, 1, alone)])
    # then every row holds its own moment, the shared one converted once but right for all
    assert written == 301
    stored = list(AuditEntry.objects.filter(action="bulk.test").order_by("seq").values_list("created_at", flat=True))
    assert stored[:300] == [shared] * 300
    assert stored[300] == alone


def test_an_id_list_as_one_parameter_finds_what_a_plain_list_finds() -> None:
    # given 50 rows and a list of ids with some that do not exist
    at = datetime(2026, 3, 5, tzinfo=UTC)
    with transaction.atomic():
        bulk_insert(AuditEntry, FIELDS, _rows(2 * 10**12, 50, at))
    ids = list(AuditEntry.objects.filter(action="bulk.test").values_list("id", flat=True))
    wanted = [*ids[::3], max(ids) + 1000, 0]
    # when
    found = set(AuditEntry.objects.filter(id__in=int_list(wanted)).values_list("id", flat=True))
    # then the same rows as a plain list; an empty list finds nothing
    assert found == set(AuditEntry.objects.filter(id__in=wanted).values_list("id", flat=True)) == set(ids[::3])
    assert not AuditEntry.objects.filter(id__in=int_list([])).exists()


def test_an_id_list_refuses_what_is_not_a_whole_number() -> None:
    with pytest.raises((TypeError, ValueError)):
        int_list(["1; DROP TABLE x"])  # type: ignore[list-item]


def test_among_finds_what_a_plain_list_finds() -> None:
    # given 40 rows and a set of ids with some that do not exist
    at = datetime(2026, 3, 5, tzinfo=UTC)
    with transaction.atomic():
        bulk_insert(AuditEntry, FIELDS, _rows(3 * 10**12, 40, at))
    ids = list(AuditEntry.objects.filter(action="bulk.test").values_list("id", flat=True))
    wanted = {*ids[::4], max(ids) + 1000}
    # when
    found = set(AuditEntry.objects.filter(Among("id", wanted)).values_list("id", flat=True))
    excluded = set(AuditEntry.objects.filter(action="bulk.test").exclude(Among("pk", wanted))
                   .values_list("id", flat=True))
    # then the same rows as ``id__in``, its negation the rest; an empty set finds nothing
    assert found == set(AuditEntry.objects.filter(id__in=wanted).values_list("id", flat=True)) == set(ids[::4])
    assert excluded == set(ids) - set(ids[::4])
    assert not AuditEntry.objects.filter(Among("id", [])).exists()


def test_among_refuses_what_is_not_a_whole_number() -> None:
    with pytest.raises((TypeError, ValueError)):
        Among("id", ["1) OR (1=1"])  # type: ignore[list-item]
