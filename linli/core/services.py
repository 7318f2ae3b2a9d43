"""Writes of the core app: appending to the audit chain, rotating PII keys."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone

from linli.core import pii
from linli.core.actors import Actor, actor_label
from linli.core.audit_checkpoint import checkpoint_text, checkpoint_write, checkpoints_read
from linli.core.audit_mac import EntrySigner, entry_body
from linli.core.bulk import Statement, bulk_insert_objects, insert_statement, unsaved
from linli.core.models import AuditEntry, AuditHead, KeyCheck, KeyCheckKind

# Field *names* only: a value such as a phone number or an ID number never matches.
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,79}$")
# Up to this many entries a batch goes in one multi-row INSERT, above by COPY.
_SMALL_BATCH = 100


def _in_real_transaction() -> bool:
    """True inside ``transaction.atomic``; the wrapper a test case opens does not count.

    Without this, every test would run inside an atomic block and a service that forgot
    its own transaction would pass its tests.
    """
    return any(not getattr(block, "_from_testcase", False) for block in transaction.get_connection().atomic_blocks)


def audit_record(
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | int = "",
    fields: Iterable[str] = (),
    reason: str = "",
    request_id: str = "",
) -> AuditEntry:
    """Append one entry to the chain, inside the caller's transaction.

    Must run inside ``transaction.atomic`` so the entry commits or rolls back with the change
    it describes. ``fields`` are names, never values: anything that does not look like a
    field name is refused.
    """
    if not _in_real_transaction():
        raise RuntimeError("audit_record must run inside the service's transaction")
    names = sorted(set(fields))
    for name in names:
        if not _FIELD_NAME.match(name):
            raise ValueError("audit fields must be field names, not values")
    # Truncate before hashing so that what the database keeps is exactly what was hashed.
    action, target_type = action[:80], target_type[:80]
    target, reason, request_id = str(target_id)[:64], reason[:500], request_id[:64]
    label = actor_label(actor)[:150]
    # Locking the head row serialises appends so seq and prev_hash never fork.
    head, _created = AuditHead.objects.select_for_update().get_or_create(id=1)
    seq = head.seq + 1
    # UTC with microseconds: what the database returns hashes the same.
    created_at = timezone.now().astimezone(UTC)
    signer = EntrySigner()
    digest = signer.mac(head.last_hash, entry_body(
        seq=seq, created_at=created_at, actor_id=actor.pk, actor_label=label, action=action,
        target_type=target_type, target_id=target, fields=names, reason=reason, request_id=request_id,
    ))
    entry = AuditEntry.objects.create(
        seq=seq, created_at=created_at, actor_id=actor.pk, actor_label=label, action=action,
        target_type=target_type, target_id=target, fields=names, reason=reason,
        request_id=request_id, key_id=signer.key_id, prev_hash=head.last_hash, hash=digest,
    )
    AuditHead.objects.filter(id=1).update(seq=seq, last_hash=digest, updated_at=created_at)
    return entry


@dataclass(frozen=True)
class AuditTarget:
    """One entry of a batch; ``reason`` and ``request_id`` fall back to the call's when empty
    (group commit puts several requests, each with its own id, in one batch)."""

    target_id: str | int
    fields: Iterable[str] = ()
    reason: str = ""
    request_id: str = ""


def audit_record_many(
    *,
    actor: Actor,
    action: str,
    target_type: str,
    targets: Sequence[tuple[str | int, Iterable[str]] | AuditTarget],
    reason: str = "",
    request_id: str = "",
) -> int:
    """One entry per target (``(target_id, field names)`` or :class:`AuditTarget`), appended
    under a single head lock.

    The same chain and digest as :func:`audit_record`, for batch paths (imports, batch
    intake) where one statement per entry would dominate the cost. Returns the count.
    """
    if not targets:
        return 0
    if not _in_real_transaction():
        raise RuntimeError("audit_record_many must run inside the service's transaction")
    head, _created = AuditHead.objects.select_for_update().get_or_create(id=1)
    append = audit_chain_append(head=(head.seq, head.last_hash), actor=actor, action=action,
                                target_type=target_type, targets=targets, reason=reason, request_id=request_id)
    if len(append.entries) <= _SMALL_BATCH:
        AuditEntry.objects.bulk_create(append.entries)  # one INSERT: fewer round trips than COPY
    else:
        bulk_insert_objects(AuditEntry, append.entries)
    AuditHead.objects.filter(id=1).update(seq=append.seq, last_hash=append.last_hash, updated_at=append.created_at)
    return len(append.entries)


@dataclass(frozen=True)
class AuditAppend:
    """Entries chained onto a head, not written yet, and the head they leave."""

    entries: list[AuditEntry]
    seq: int
    last_hash: str
    created_at: datetime


def audit_head_lock_statement() -> Statement:
    """``(seq, last_hash)`` of the chain's head, locked until the commit: the first step of
    an append whose statements travel together (:func:`linli.core.bulk.execute_together`).
    No row comes back from a database nobody audited in yet: create the head
    (``AuditHead.objects.get_or_create(id=1)``) and run it again."""
    # SQLite has no row locks: its write transactions (IMMEDIATE) are serialised whole.
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    return f"SELECT seq, last_hash FROM {AuditHead._meta.db_table} WHERE id = 1{lock}", []  # noqa: S608 -- name from the model


def audit_chain_append(
    *,
    head: tuple[int, str],
    actor: Actor,
    action: str,
    target_type: str,
    targets: Sequence[tuple[str | int, Iterable[str]] | AuditTarget],
    reason: str = "",
    request_id: str = "",
) -> AuditAppend:
    """The entries of :func:`audit_record_many` chained onto ``head`` (``(seq, last_hash)``,
    read under the head's lock). Field names are checked here; values never enter."""
    action, target_type = action[:80], target_type[:80]
    label = actor_label(actor)[:150]
    seq, prev = head
    created_at = timezone.now().astimezone(UTC)
    signer = EntrySigner()
    entries: list[AuditEntry] = []
    for target in targets:
        if not isinstance(target, AuditTarget):
            target = AuditTarget(target[0], target[1])
        names = sorted(set(target.fields))
        for name in names:
            if not _FIELD_NAME.match(name):
                raise ValueError("audit fields must be field names, not values")
        seq += 1
        target_id = str(target.target_id)[:64]
        why, request = (target.reason or reason)[:500], (target.request_id or request_id)[:64]
        digest = signer.mac(prev, entry_body(
            seq=seq, created_at=created_at, actor_id=actor.pk, actor_label=label, action=action,
            target_type=target_type, target_id=target_id, fields=names, reason=why, request_id=request,
        ))
        entries.append(unsaved(AuditEntry, {
            "seq": seq, "created_at": created_at, "actor_id": actor.pk, "actor_label": label, "action": action,
            "target_type": target_type, "target_id": target_id, "fields": names, "reason": why,
            "request_id": request, "key_id": signer.key_id, "prev_hash": prev, "hash": digest,
        }))
        prev = digest
    return AuditAppend(entries=entries, seq=seq, last_hash=prev, created_at=created_at)


def audit_append_statements(append: AuditAppend) -> list[Statement]:
    """The entries' INSERT and the head's UPDATE of an append, for ``execute_together``
    (inside the transaction that locked the head with :func:`audit_head_lock_statement`)."""
    if not append.entries:
        return []
    table = AuditHead._meta.db_table
    return [
        insert_statement(AuditEntry, append.entries),
        (f"UPDATE {table} SET seq = %s, last_hash = %s, updated_at = %s WHERE id = 1",  # noqa: S608 -- name from the model
         [append.seq, append.last_hash, append.created_at]),
    ]


@dataclass(frozen=True)
class CheckpointOutcome:
    """What :func:`audit_checkpoint_write` did: the file and its text, or why it refused."""

    path: Path | None
    text: str
    problems: list[str]


def audit_checkpoint_write(*, actor: Actor, directory: Path) -> CheckpointOutcome:
    """Verify the chain against itself and the checkpoints already in ``directory``, then
    append an ``audit.checkpoint`` entry and write its number and MAC, signed, to a new file
    there. Writes nothing when anything is wrong: a checkpoint must never vouch for a chain
    that was tampered with."""
    # Imported here: the selectors read what this module writes.
    from linli.core.selectors import audit_chain_verify, audit_checkpoints_verify

    report = audit_chain_verify()
    checkpoints, problems = checkpoints_read(directory)
    problems = [*report.problems, *problems, *audit_checkpoints_verify(checkpoints, report=report)]
    if problems:
        return CheckpointOutcome(path=None, text="", problems=problems)
    with transaction.atomic():
        entry = audit_record(actor=actor, action="audit.checkpoint", target_type="core.audit",
                             reason=f"checked={report.checked}")
    written_at = timezone.localtime(entry.created_at)
    path = checkpoint_write(directory, written_at=written_at, count=entry.seq, seq=entry.seq,
                            mac=entry.hash, key_id=entry.key_id)
    text = checkpoint_text(written_at=written_at, count=entry.seq, seq=entry.seq, mac=entry.hash,
                           key_id=entry.key_id)
    return CheckpointOutcome(path=path, text=text, problems=[])


@transaction.atomic
def audit_record_standalone(
    *, actor: Actor, action: str, target_type: str, target_id: str | int = "",
    reason: str = "", request_id: str = "",
) -> AuditEntry:
    """For events that change nothing else (login, export, view of sensitive data)."""
    return audit_record(
        actor=actor, action=action, target_type=target_type, target_id=target_id,
        reason=reason, request_id=request_id,
    )


@dataclass
class RotationReport:
    """What one run of :func:`pii_keys_rotate` did, per ``app_label.Model.column``."""

    key_id: str
    rewritten: dict[str, int] = field(default_factory=dict)
    skipped_models: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.rewritten.values())


def encrypted_columns() -> tuple[dict[type[models.Model], dict[str, str]], list[str]]:
    """Every ``*_enc`` column of every installed model, with the PII field name it is bound to.

    A model declares ``PII_FIELDS = {"phone_enc": "person.phone", …}``; models with
    ``*_enc`` columns but no declaration are returned by label as the second item.
    """
    found: dict[type[models.Model], dict[str, str]] = {}
    undeclared: list[str] = []
    for model in apps.get_models():
        columns = [f.name for f in model._meta.concrete_fields if f.name.endswith("_enc")]
        if not columns:
            continue
        declared: dict[str, str] | None = getattr(model, "PII_FIELDS", None)
        if not declared:
            undeclared.append(model._meta.label)
            continue
        missing = [c for c in columns if c not in declared]
        if missing:
            undeclared.append(f"{model._meta.label} ({', '.join(missing)})")
        found[model] = {c: declared[c] for c in columns if c in declared}
    return found, undeclared


def _rotate_model(
    model: type[models.Model], columns: dict[str, str], *, key_id: str, batch_size: int,
    report: RotationReport,
) -> None:
    stale = models.Q()
    for column in columns:
        stale |= ~models.Q(**{column: ""}) & ~models.Q(**{f"{column}__startswith": f"{key_id}$"})
    manager = model._default_manager
    last_pk: object = None
    while True:
        # Atomic per batch: a crash leaves whole batches done, never half a row.
        with transaction.atomic():
            query = manager.select_for_update().filter(stale).order_by("pk")
            if last_pk is not None:
                query = query.filter(pk__gt=last_pk)
            rows = list(query[:batch_size])
            if not rows:
                return
            changed: set[str] = set()
            for row in rows:
                for column, pii_field in columns.items():
                    token = getattr(row, column)
                    if pii.needs_rotation(token):
                        setattr(row, column, pii.reencrypt(token, field=pii_field))
                        changed.add(column)
                        label = f"{model._meta.label}.{column}"
                        report.rewritten[label] = report.rewritten.get(label, 0) + 1
            manager.bulk_update(rows, sorted(changed))
            last_pk = rows[-1].pk


def _pii_key_checks_retire(*, current: str) -> list[str]:
    """Mark the key checks of every PII key but ``current`` retired; returns their ids."""
    with transaction.atomic():
        stale = KeyCheck.objects.select_for_update().filter(
            kind=KeyCheckKind.PII, retired_at__isnull=True).exclude(key_id=current)
        retired = sorted(stale.values_list("key_id", flat=True))
        stale.update(retired_at=timezone.now())
    return retired


def pii_keys_rotate(*, actor: Actor, batch_size: int = 500) -> RotationReport:
    """Re-encrypt every ``*_enc`` value sealed with an old key under the current key.

    Safe to run again or after a crash (rows already on the current key are skipped).
    One audit entry per run names the columns and counts, never a value. Models with
    ``*_enc`` columns but no ``PII_FIELDS`` are listed in ``skipped_models``.
    """
    report = RotationReport(key_id=pii.current_key_id())
    found, undeclared = encrypted_columns()
    report.skipped_models = undeclared
    try:
        for model, columns in found.items():
            _rotate_model(model, columns, key_id=report.key_id, batch_size=batch_size,
                          report=report)
        if not undeclared:
            # Every declared value is now under the current key: the others may leave
            # LINLI_PII_KEYS without the key check refusing the next start.
            report.retired = _pii_key_checks_retire(current=report.key_id)
    finally:
        # Also after a failure: the batches that did commit are recorded.
        if report.total:
            with transaction.atomic():
                audit_record(
                    actor=actor, action="pii.rotate", target_type="core.pii",
                    target_id=report.key_id, fields=sorted(report.rewritten),
                    reason=", ".join(f"{k}={v}" for k, v in sorted(report.rewritten.items())),
                )
    return report
