"""Statements sent together (``execute_together``) and the row-document INSERT
(``insert_statement``): what goes in comes back exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import transaction

from linli.core.actors import SystemActor
from linli.core.bulk import execute_together, insert_statement, reserve_ids, unsaved
from linli.core.models import AuditEntry, AuditHead
from linli.core.selectors import audit_chain_verify
from linli.core.services import (
    audit_append_statements,
    audit_chain_append,
    audit_head_lock_statement,
    audit_record,
)

pytestmark = pytest.mark.django_db

ACTOR = SystemActor("job:test")
AWKWARD = "王芳's \"备注\" \\ 100% ;--\n\t😀"


def test_rows_inserted_from_a_document_read_back_exactly() -> None:
    # given entries with awkward text, a timestamp in another zone with microseconds, a list
    # field, an id drawn up front and one left to the database
    at = datetime(2026, 3, 5, 8, 9, 10, 123456, tzinfo=timezone(timedelta(hours=8)))
    with transaction.atomic():
        [drawn] = reserve_ids(AuditEntry, 1)
        with_id = unsaved(AuditEntry, {"id": drawn, "seq": 10**12, "created_at": at, "actor_id": None,
                                       "actor_label": AWKWARD, "action": "a", "target_type": "t", "target_id": "1",
                                       "fields": ["name", AWKWARD], "reason": AWKWARD, "hash": "h" * 64})
        without = unsaved(AuditEntry, {"seq": 10**12 + 1, "created_at": at, "actor_id": 7, "action": "b",
                                       "target_type": "t", "fields": [], "hash": "i" * 64})
        # when
        execute_together([insert_statement(AuditEntry, [with_id]), insert_statement(AuditEntry, [without])])
    # then
    first = AuditEntry.objects.get(pk=drawn)
    assert (first.actor_label, first.reason, first.fields, first.actor_id) == (AWKWARD, AWKWARD, ["name", AWKWARD], None)
    assert first.created_at == at.astimezone(UTC)
    second = AuditEntry.objects.get(seq=10**12 + 1)
    assert second.pk != drawn
    assert (second.actor_id, second.fields, second.target_id) == (7, [], "")


def test_results_come_back_per_statement_in_order() -> None:
    with transaction.atomic():
        AuditHead.objects.get_or_create(id=1)
        results = execute_together([
            ("SELECT %s, %s", [1, AWKWARD]),
            ("UPDATE core_audithead SET seq = seq WHERE id = %s", [1]),
            audit_head_lock_statement(),
        ])
    assert results[0] == [(1, AWKWARD)]
    assert results[1] == []
    assert [tuple(r) for r in results[2]] == [(0, "0" * 64)]


def test_an_append_sent_as_statements_continues_the_chain() -> None:
    # given one entry the ordinary way
    with transaction.atomic():
        audit_record(actor=ACTOR, action="x.single", target_type="t", target_id=1)
    # when two more are chained onto the locked head and written as statements
    with transaction.atomic():
        [[(seq, last)]] = execute_together([audit_head_lock_statement()])
        append = audit_chain_append(head=(seq, last), actor=ACTOR, action="x.batch", target_type="t",
                                    targets=[(2, ["name"]), (3, [])], reason=AWKWARD)
        execute_together(audit_append_statements(append))
    # then
    report = audit_chain_verify()
    assert report.ok, report.problems
    assert report.checked == 3
    assert AuditHead.objects.get(id=1).seq == 3
    assert AuditEntry.objects.get(target_id="2").reason == AWKWARD
