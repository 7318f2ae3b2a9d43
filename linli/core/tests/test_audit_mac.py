"""The audit chain's hardening: keyed MACs, database guards, checkpoints kept outside.

Each test plays an attacker who can write the database (the tables' owner: the guards are
dropped first) but does not hold ``LINLI_AUDIT_KEYS``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import override_settings

from linli.core.actors import SystemActor
from linli.core.audit_checkpoint import checkpoint_parse, checkpoints_read
from linli.core.audit_mac import entry_body, legacy_digest
from linli.core.models import AuditEntry, AuditHead
from linli.core.selectors import audit_chain_verify, audit_checkpoints_verify, audit_guards_missing
from linli.core.services import audit_checkpoint_write, audit_record, audit_record_many
from linli.core.tests.guards import guards_lifted

ACTOR = SystemActor("test:audit")
KEY_A = {"a1": b"\x0a" * 32}
KEY_B_THEN_A = {"a2": b"\x0b" * 32, "a1": b"\x0a" * 32}


def append(n: int, *, action: str = "test.act") -> list[AuditEntry]:
    entries = []
    for i in range(n):
        with transaction.atomic():
            entries.append(audit_record(actor=ACTOR, action=action, target_type="test", target_id=i,
                                        fields=["name"]))
    return entries


def body_of(row: AuditEntry) -> bytes:
    return entry_body(seq=row.seq, created_at=row.created_at.astimezone(UTC), actor_id=row.actor_id,
                      actor_label=row.actor_label, action=row.action, target_type=row.target_type,
                      target_id=row.target_id, fields=row.fields, reason=row.reason, request_id=row.request_id)


def forge_from(seq: int, *, new_reason: str, digest: object, key_id: str) -> None:
    """Rewrite entry ``seq``'s reason, then recompute every following link and the head with
    ``digest(prev, body)`` — what an attacker does to hide a change."""
    with guards_lifted(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET reason = %s WHERE seq = %s", [new_reason, seq])
        rows = list(AuditEntry.objects.filter(seq__gte=seq).order_by("seq"))
        prev = AuditEntry.objects.get(seq=seq - 1).hash if seq > 1 else "0" * 64
        for row in rows:
            mac = digest(prev, body_of(row))  # type: ignore[operator]
            cursor.execute("UPDATE core_auditentry SET prev_hash = %s, hash = %s, key_id = %s WHERE seq = %s",
                           [prev, mac, key_id, row.seq])
            prev = mac
        cursor.execute("UPDATE core_audithead SET last_hash = %s WHERE id = 1", [prev])


@pytest.mark.django_db
def test_a_row_rewritten_with_the_chain_recomputed_as_before_is_detected():
    # given a chain, and an attacker who recomputes the unkeyed SHA-256 chain (which passed
    # `linli audit verify` before keyed MACs)
    append(6)
    # when
    forge_from(3, new_reason="nothing happened", digest=legacy_digest, key_id="")
    # then
    problems = audit_chain_verify().problems
    assert any("entry 3: has no keyed MAC" in p for p in problems), problems
    assert any("entry 6: has no keyed MAC" in p for p in problems)


@pytest.mark.django_db
def test_a_row_rewritten_with_the_chain_recomputed_under_a_guessed_key_is_detected():
    # given
    append(6)
    guess = b"\x00" * 32
    # when the attacker recomputes HMACs under a key of their own, keeping the key id
    forge_from(3, new_reason="nothing happened", key_id="",
               digest=lambda prev, body: hmac.new(guess, prev.encode() + b"|" + body, hashlib.sha256).hexdigest())
    with guards_lifted(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET key_id = %s WHERE seq >= 3",
                       [AuditEntry.objects.get(seq=1).key_id])
    # then every rewritten entry fails its MAC; the head matching the forged tail does not help
    problems = audit_chain_verify().problems
    assert [p for p in problems if "content changed" in p] == [
        f"entry {n}: content changed after it was written" for n in range(3, 7)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("statement", [
    "UPDATE core_auditentry SET reason = 'x' WHERE seq = 2",
    "UPDATE core_auditentry SET hash = hash",
    "DELETE FROM core_auditentry WHERE seq = 3",
    "DELETE FROM core_auditentry",
    "DELETE FROM core_audithead",
    "UPDATE core_audithead SET seq = 2, last_hash = (SELECT hash FROM core_auditentry WHERE seq = 2)",
    "UPDATE core_audithead SET seq = 4, last_hash = 'f'",
    "UPDATE core_audithead SET legacy_seq = 3",
], ids=["update-entry", "update-all", "delete-entry", "delete-all", "delete-head", "head-back",
        "head-to-nothing", "head-anchor"])
def test_the_database_refuses_changes_to_the_audit_tables(statement):
    # given
    append(3)
    # when / then: refused by the database itself, whoever sends the SQL
    with pytest.raises(DatabaseError, match="linli: the audit"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    report = audit_chain_verify()
    assert report.ok, report.problems
    assert report.checked == 3


@pytest.mark.django_db
@pytest.mark.parametrize("table", ["core_auditentry", "core_audithead"])
def test_postgresql_refuses_truncating_the_audit_tables(table):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE is refused (test above)")
    # given
    append(2)
    # when / then
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_the_guards_are_in_place_after_the_migrations_and_a_dropped_one_is_reported():
    # given a freshly migrated database
    assert audit_guards_missing() == []
    # when the owner drops them
    with guards_lifted():
        report = audit_chain_verify()
    # then
    assert any("database guard" in p and "missing or disabled" in p for p in report.problems)
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_a_cut_tail_is_invisible_to_the_chain_alone_but_a_checkpoint_shows_it(tmp_path: Path):
    # given a checkpoint after 5 entries (its own entry is the 6th), then 4 more entries
    append(5)
    outcome = audit_checkpoint_write(actor=ACTOR, directory=tmp_path)
    assert outcome.path is not None
    assert outcome.problems == []
    append(4)
    # when the attacker deletes entries 4.. and moves the head back onto entry 3
    third = AuditEntry.objects.get(seq=3)
    with guards_lifted(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE seq > 3")
        cursor.execute("UPDATE core_audithead SET seq = 3, last_hash = %s WHERE id = 1", [third.hash])
    # then the chain itself verifies …
    report = audit_chain_verify()
    assert report.ok, report.problems
    # … but not against the checkpoint
    checkpoints, unreadable = checkpoints_read(tmp_path)
    assert unreadable == []
    problems = audit_checkpoints_verify(checkpoints, report=report)
    assert len(problems) == 1
    assert "recorded 6 entries ending at #6, but the chain ends at #3: newest entries deleted" in problems[0]


@pytest.mark.django_db
def test_a_chain_rewritten_before_a_checkpoint_no_longer_matches_it(tmp_path: Path):
    # given
    append(4)
    audit_checkpoint_write(actor=ACTOR, directory=tmp_path)
    # when the chain up to the checkpoint is rebuilt with the key (a stolen key, say)
    from linli.core.audit_mac import EntrySigner

    signer = EntrySigner()
    forge_from(2, new_reason="rewritten", digest=signer.mac, key_id=signer.key_id)
    # then the chain verifies, the checkpoint does not
    report = audit_chain_verify()
    assert report.ok, report.problems
    checkpoints, _ = checkpoints_read(tmp_path)
    [problem] = audit_checkpoints_verify(checkpoints, report=report)
    assert "entry #5 no longer has the MAC it had" in problem


@pytest.mark.django_db
def test_the_checkpoint_file_is_printable_signed_and_an_edit_is_detected(tmp_path: Path):
    # given
    append(2)
    # when
    outcome = audit_checkpoint_write(actor=ACTOR, directory=tmp_path)
    # then it is plain text naming the head, and the chain records that it was taken
    assert outcome.path is not None
    text = outcome.path.read_text(encoding="utf-8")
    assert text == outcome.text
    lines = text.splitlines()
    assert lines[0] == "linli audit checkpoint"
    assert [line.split(":")[0] for line in lines[1:]] == ["written", "entries", "head", "mac", "key", "signature"]
    head = AuditEntry.objects.get(seq=3)
    assert head.action == "audit.checkpoint"
    assert f"mac: {head.hash}" in lines
    assert "head: 3" in lines
    assert "entries: 3" in lines
    # and an edited copy fails its signature
    edited = text.replace("entries: 3", "entries: 2").replace("head: 3", "head: 2")
    with pytest.raises(ValueError, match="signature does not match"):
        checkpoint_parse("edited", edited)


@pytest.mark.django_db
def test_no_checkpoint_is_written_over_a_broken_chain(tmp_path: Path):
    # given
    append(3)
    with guards_lifted(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET reason = 'x' WHERE seq = 2")
    # when
    outcome = audit_checkpoint_write(actor=ACTOR, directory=tmp_path)
    # then
    assert outcome.path is None
    assert any("entry 2: content changed" in p for p in outcome.problems)
    assert list(tmp_path.iterdir()) == []
    assert not AuditEntry.objects.filter(action="audit.checkpoint").exists()


@pytest.mark.django_db
def test_verify_command_fails_on_a_cut_tail_and_checkpoint_command_prints_the_file(tmp_path: Path):
    # given
    append(3)
    out = StringIO()
    call_command("linli_audit", "checkpoint", "--dir", str(tmp_path), stdout=out)
    assert "linli audit checkpoint\n" in out.getvalue()
    assert "head: 4" in out.getvalue()
    append(2)
    ok = StringIO()
    call_command("linli_audit", "verify", "--checkpoints", str(tmp_path), stdout=ok)
    assert "audit chain OK: 6 entries" in ok.getvalue()
    assert "matches 1 checkpoint(s)" in ok.getvalue()
    # when the tail is cut back to before the checkpoint
    second = AuditEntry.objects.get(seq=2)
    with guards_lifted(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE seq > 2")
        cursor.execute("UPDATE core_audithead SET seq = 2, last_hash = %s WHERE id = 1", [second.hash])
    # then
    err = StringIO()
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("linli_audit", "verify", "--checkpoints", str(tmp_path), stdout=StringIO(), stderr=err)
    assert "newest entries deleted" in err.getvalue()


@pytest.mark.django_db
def test_a_rotated_key_keeps_old_entries_verifiable_and_a_dropped_one_is_named():
    # given entries under a1, then a2 put first
    with override_settings(LINLI_AUDIT_KEYS=KEY_A, LINLI_AUDIT_CURRENT_KEY="a1"):
        append(2)
    with override_settings(LINLI_AUDIT_KEYS=KEY_B_THEN_A, LINLI_AUDIT_CURRENT_KEY="a2"):
        with transaction.atomic():
            audit_record_many(actor=ACTOR, action="test.batch", target_type="test",
                              targets=[(n, ["name"]) for n in range(3)])
        # then both generations verify
        assert list(AuditEntry.objects.order_by("seq").values_list("key_id", flat=True)) == ["a1"] * 2 + ["a2"] * 3
        assert audit_chain_verify().ok
    # and without a1 the entries it made are named, not silently passed
    with override_settings(LINLI_AUDIT_KEYS={"a2": KEY_B_THEN_A["a2"]}, LINLI_AUDIT_CURRENT_KEY="a2"):
        problems = audit_chain_verify().problems
    assert problems == ["entries 1..2 (2): MAC key 'a1' is not in LINLI_AUDIT_KEYS, so they cannot be verified: restore it"]


@pytest.mark.django_db
def test_the_head_still_moves_forward_through_every_append_path():
    # given / when: single, batched (bulk insert) and large batched (COPY) appends
    append(2)
    with transaction.atomic():
        audit_record_many(actor=ACTOR, action="test.small", target_type="test", targets=[(n, []) for n in range(50)])
    with transaction.atomic():
        audit_record_many(actor=ACTOR, action="test.large", target_type="test", targets=[(n, []) for n in range(250)])
    # then
    head = AuditHead.objects.get(id=1)
    report = audit_chain_verify()
    assert report.ok, report.problems
    assert head.seq == report.checked == 302


@pytest.mark.django_db(transaction=True)
def test_a_chain_from_before_keyed_macs_is_anchored_by_the_migration_and_stays_verifiable():
    from django.db.migrations.executor import MigrationExecutor

    leaf = [("core", "0005_audit_tables_refuse_changes")]
    executor = MigrationExecutor(connection)
    # given a database as the previous release left it: an unkeyed SHA-256 chain of 4 entries
    executor.migrate([("core", "0002_changestamp")])
    try:
        old = executor.loader.project_state([("core", "0002_changestamp")]).apps
        entry, head = old.get_model("core", "AuditEntry"), old.get_model("core", "AuditHead")
        prev = "0" * 64
        from django.utils import timezone

        for seq in range(1, 5):
            created = timezone.now().astimezone(UTC)
            body = entry_body(seq=seq, created_at=created, actor_id=None, actor_label="old", action="old.act",
                              target_type="test", target_id=str(seq), fields=[], reason="", request_id="")
            digest = hashlib.sha256(f"{prev}|{body.decode()}".encode()).hexdigest()  # the old code's formula
            entry.objects.create(seq=seq, created_at=created, actor_label="old", action="old.act",
                                 target_type="test", target_id=str(seq), fields=[], prev_hash=prev, hash=digest)
            prev = digest
        head.objects.create(id=1, seq=4, last_hash=prev)
    finally:
        # when the new release migrates
        executor = MigrationExecutor(connection)
        executor.migrate(leaf)
    # then the old entries are anchored and new ones chain on with keyed MACs
    assert AuditHead.objects.get(id=1).legacy_seq == 4
    append(2)
    report = audit_chain_verify()
    assert report.ok, report.problems
    assert (report.checked, report.legacy_seq) == (6, 4)
    # and an old entry rewritten, with the old chain recomputed to the anchor, is caught
    forge_from(2, new_reason="rewritten", digest=legacy_digest, key_id="")
    problems = audit_chain_verify().problems
    assert any("do not match their anchor" in p for p in problems), problems
