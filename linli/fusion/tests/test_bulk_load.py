"""Large imports load records and provenance without a foreign-key check per row: the keys
come back afterwards and every id the rows point at is still checked."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from linli.core.bulk import bulk_insert, foreign_keys_suspended
from linli.fusion.models import FieldProvenance
from linli.registry.models import Person

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the keys are dropped on PostgreSQL only"),
]
FIELDS = ("person", "field", "value", "value_enc", "value_masked", "observed_at", "precedence", "won", "reason")


def _row(person_id: int) -> tuple[object, ...]:
    return (person_id, "name", "王芳", "", "", timezone.now(), 0, True, "only_source")


def _foreign_keys() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
                       [FieldProvenance._meta.db_table])
        return {name for (name,) in cursor.fetchall()}


def test_rows_load_and_the_keys_come_back() -> None:
    # given
    person = Person.objects.create(name="王芳")
    before = _foreign_keys()
    # when
    with transaction.atomic(), foreign_keys_suspended([FieldProvenance], referenced={Person: [person.pk]}):
        bulk_insert(FieldProvenance, FIELDS, [_row(person.pk)])
    # then
    assert FieldProvenance.objects.filter(person=person).count() == 1
    assert _foreign_keys() == before
    # and they hold for later writes
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(FieldProvenance, FIELDS, [_row(person.pk + 10_000)])


def test_a_missing_referenced_id_rolls_the_load_back() -> None:
    # given
    person = Person.objects.create(name="王芳")
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic(), foreign_keys_suspended(
            [FieldProvenance], referenced={Person: [person.pk, person.pk + 10_000]}):
        bulk_insert(FieldProvenance, FIELDS, [_row(person.pk)])
    assert not FieldProvenance.objects.exists()
