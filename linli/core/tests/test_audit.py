"""The audit log: written inside transactions, MAC-chained, tamper-evident, append-only."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from linli.core.actors import SystemActor
from linli.core.models import AppendOnlyError, AuditEntry, AuditHead
from linli.core.selectors import (
    audit_actions,
    audit_chain_verify,
    audit_entries_recent,
    audit_entry_count,
)
from linli.core.services import audit_record
from linli.core.tests.guards import guards_lifted

ACTOR = SystemActor("test:audit")


def append(n: int, *, reason: str = "") -> list[AuditEntry]:
    entries = []
    for i in range(n):
        with transaction.atomic():
            entries.append(audit_record(actor=ACTOR, action="test.act", target_type="test",
                                        target_id=i, fields=["name"], reason=reason))
    return entries


def raw_sql(sql: str, params: list[str | int]) -> None:
    """As an attacker with the tables' owner rights: the database guards dropped first."""
    with guards_lifted(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_audit_record_outside_a_transaction_is_refused():
    # when / then: the test's own wrapping transaction does not count
    with pytest.raises(RuntimeError, match="inside the service's transaction"):
        audit_record(actor=ACTOR, action="test.act", target_type="test")
    assert AuditEntry.objects.count() == 0


@pytest.mark.django_db
def test_audit_fields_must_be_names_not_values():
    with transaction.atomic(), pytest.raises(ValueError, match="field names"):
        audit_record(actor=ACTOR, action="test.act", target_type="test",
                     fields=["13812345678"])


@pytest.mark.django_db
def test_entry_rolls_back_with_the_change_it_describes():
    # given
    class BoomError(Exception):
        pass

    def change_that_fails() -> None:
        with transaction.atomic():
            audit_record(actor=ACTOR, action="test.act", target_type="test")
            raise BoomError

    # when
    with pytest.raises(BoomError):
        change_that_fails()
    # then
    assert AuditEntry.objects.count() == 0
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_chain_of_many_entries_verifies():
    # given
    entries = append(25, reason="走访核实")
    # when
    report = audit_chain_verify(batch_size=7)
    # then
    assert report.ok, report.problems
    assert report.checked == 25
    assert [e.seq for e in entries] == list(range(1, 26))
    assert entries[1].prev_hash == entries[0].hash


@pytest.mark.django_db
def test_changed_reason_is_detected():
    # given
    append(5)
    # when someone edits a row behind the application's back
    raw_sql("UPDATE core_auditentry SET reason = %s WHERE seq = %s", ["edited", 3])
    # then
    report = audit_chain_verify()
    assert not report.ok
    assert any("entry 3: content changed" in p for p in report.problems)


@pytest.mark.django_db
def test_changed_row_with_recomputed_hash_breaks_the_next_link():
    # given
    append(5)
    # when the forger also rewrites the stored hash of the edited row
    raw_sql("UPDATE core_auditentry SET reason = %s, hash = %s WHERE seq = %s",
            ["edited", "f" * 64, 2])
    # then
    problems = audit_chain_verify().problems
    assert any("entry 2: content changed" in p for p in problems)
    assert any("entry 3: previous hash" in p for p in problems)


@pytest.mark.django_db
def test_deleted_middle_row_is_detected():
    # given
    append(5)
    # when
    raw_sql("DELETE FROM core_auditentry WHERE seq = %s", [3])
    # then
    problems = audit_chain_verify().problems
    assert any("entries 3..3 are missing" in p for p in problems)


@pytest.mark.django_db
@pytest.mark.parametrize("cut_from", [5, 3])
def test_deleted_newest_rows_are_detected(cut_from):
    # given
    append(5)
    # when the tail is cut
    raw_sql("DELETE FROM core_auditentry WHERE seq >= %s", [cut_from])
    # then
    problems = audit_chain_verify().problems
    assert any(f"chain ends at {cut_from - 1} but head says 5" in p for p in problems)


@pytest.mark.django_db
def test_deleted_everything_is_detected():
    append(3)
    raw_sql("DELETE FROM core_auditentry", [])
    assert not audit_chain_verify().ok


@pytest.mark.django_db
def test_deleted_head_row_is_detected():
    append(2)
    raw_sql("DELETE FROM core_audithead", [])
    assert "the chain head is missing" in audit_chain_verify().problems


@pytest.mark.django_db
def test_empty_log_verifies():
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_orm_cannot_update_or_delete_entries():
    # given
    entry = append(1)[0]
    # when / then
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    entry.reason = "x"
    with pytest.raises(AppendOnlyError):
        entry.save()
    # bulk_update refuses inside its own atomic block; the savepoint keeps the test usable
    with pytest.raises(AppendOnlyError), transaction.atomic():
        AuditEntry.objects.bulk_update([entry], ["reason"])
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_recent_entries_are_the_newest_oldest_first():
    append(6)
    assert [e.seq for e in audit_entries_recent(limit=3)] == [4, 5, 6]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_on_postgresql_keep_one_valid_chain():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what is under test; SQLite serialises writers anyway")
    # given two writers starting together
    per_thread = 25
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with transaction.atomic():
                    audit_record(actor=SystemActor(name), action="test.race", target_type="test",
                                 target_id=i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(f"t{n}",)) for n in range(2)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert not errors
    report = audit_chain_verify()
    assert report.ok, report.problems
    assert report.checked == 2 * per_thread
    assert AuditHead.objects.get().seq == 2 * per_thread


@pytest.mark.django_db
def test_the_filter_menu_lists_each_action_once_and_the_count_comes_from_the_head():
    # given
    assert audit_actions() == []
    assert audit_entry_count() == 0
    append(3)
    with transaction.atomic():
        audit_record(actor=ACTOR, action="case.open", target_type="test")
        audit_record(actor=ACTOR, action="zz.last", target_type="test")
    # then
    assert audit_actions() == ["case.open", "test.act", "zz.last"]
    assert audit_entry_count() == AuditEntry.objects.count() == 5
