"""Reads of the core app: the audit trail and its integrity check, and change stamps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC

from django.db import connection
from django.db.models import QuerySet

from linli.core.audit_checkpoint import Checkpoint
from linli.core.audit_mac import (
    GENESIS_HASH,
    LEGACY_KEY_ID,
    AuditKeyError,
    EntrySigner,
    entry_body,
    legacy_anchor_mac,
    legacy_digest,
    macs_equal,
)
from linli.core.models import AuditEntry, AuditHead, ChangeStamp


def change_generation(topic: str) -> int | None:
    """The topic's :class:`ChangeStamp` value (``None`` before its tables were first written):
    one primary-key read, whatever the size of the tables it covers."""
    table = connection.ops.quote_name(ChangeStamp._meta.db_table)
    with connection.cursor() as cursor:
        # Plain SQL: this runs for every case written, and the ORM's query building cost more
        # than the read.
        cursor.execute(f"SELECT generation FROM {table} WHERE topic = %s", [topic])  # noqa: S608 -- name from model meta
        row = cursor.fetchone()
    return int(row[0]) if row else None


@dataclass
class ChainReport:
    """Result of :func:`audit_chain_verify`: how many entries were read and what is wrong."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    legacy_seq: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


# The triggers of migration core.0005 that refuse changes to the audit tables.
AUDIT_GUARDS: dict[str, tuple[str, ...]] = {
    "postgresql": ("linli_audit_entry_guard", "linli_audit_entry_truncate_guard",
                   "linli_audit_head_guard", "linli_audit_head_truncate_guard"),
    "sqlite": ("linli_audit_entry_no_update", "linli_audit_entry_no_delete",
               "linli_audit_head_no_delete", "linli_audit_head_forward_only"),
}


def audit_guards_missing() -> list[str]:
    """The database triggers that should refuse changes to the audit tables but are missing
    or disabled (someone with the owner's rights removed them)."""
    expected = AUDIT_GUARDS.get(connection.vendor, ())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname = ANY(%s) AND tgenabled <> 'D'",
                           [list(expected)])
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in expected if name not in present]


class _Verifier:
    """Checks one entry at a time against its predecessor, keeping a signer per key."""

    def __init__(self, *, legacy_seq: int) -> None:
        self.legacy_seq = legacy_seq
        self.signers: dict[str, EntrySigner | None] = {}
        self.unknown_keys: dict[str, list[int]] = {}

    def expected(self, *, key_id: str, seq: int, prev: str, body: bytes) -> str | None:
        """The MAC the entry should carry; ``None`` when it cannot be known (key missing)."""
        if key_id == LEGACY_KEY_ID:
            return legacy_digest(prev, body)
        if key_id not in self.signers:
            try:
                self.signers[key_id] = EntrySigner(key_id)
            except AuditKeyError:
                self.signers[key_id] = None
        signer = self.signers[key_id]
        if signer is None:
            self.unknown_keys.setdefault(key_id, []).append(seq)
            return None
        return signer.mac(prev, body)


def audit_chain_verify(*, batch_size: int = 5000) -> ChainReport:
    """Recompute every MAC in order; report changed rows, gaps (deleted rows), entries that
    claim to predate keyed MACs but do not, and a head that does not match the last entry.

    A tail cut together with the head is invisible here: :func:`audit_checkpoints_verify`
    compares the chain with checkpoints kept outside the database.
    """
    report = ChainReport()
    head = AuditHead.objects.filter(id=1).first()
    legacy_seq = head.legacy_seq if head else 0
    report.legacy_seq = legacy_seq
    verifier = _Verifier(legacy_seq=legacy_seq)
    prev_hash = GENESIS_HASH
    expected_seq = 1
    last_seq = 0
    rows = AuditEntry.objects.order_by("seq").values_list(
        "seq", "created_at", "actor_id", "actor_label", "action", "target_type", "target_id",
        "fields", "reason", "request_id", "key_id", "prev_hash", "hash",
    )
    for (seq, created_at, actor_id, label, action, target_type, target_id, fields, reason,
         request_id, key_id, stored_prev, stored_hash) in rows.iterator(chunk_size=batch_size):
        report.checked += 1
        if seq != expected_seq:
            report.problems.append(f"entries {expected_seq}..{seq - 1} are missing")
        if stored_prev != prev_hash:
            report.problems.append(f"entry {seq}: previous hash does not match entry before it")
        if key_id == LEGACY_KEY_ID and seq > legacy_seq:
            report.problems.append(
                f"entry {seq}: has no keyed MAC, yet it is newer than the entries from before keyed "
                f"MACs (1..{legacy_seq}): written or rewritten without the key"
            )
        body = entry_body(
            seq=seq, created_at=created_at.astimezone(UTC), actor_id=actor_id, actor_label=label,
            action=action, target_type=target_type, target_id=target_id, fields=fields,
            reason=reason, request_id=request_id,
        )
        digest = verifier.expected(key_id=key_id, seq=seq, prev=stored_prev, body=body)
        if digest is not None and not macs_equal(digest, stored_hash):
            report.problems.append(f"entry {seq}: content changed after it was written")
        if seq == legacy_seq and head is not None:
            _check_legacy_anchor(head, stored_hash, report)
        prev_hash = stored_hash
        expected_seq = seq + 1
        last_seq = seq
    for key_id, seqs in verifier.unknown_keys.items():
        report.problems.append(
            f"entries {seqs[0]}..{seqs[-1]} ({len(seqs)}): MAC key {key_id!r} is not in "
            "LINLI_AUDIT_KEYS, so they cannot be verified: restore it"
        )
    if legacy_seq > last_seq:
        report.problems.append(f"the entries from before keyed MACs (1..{legacy_seq}) are missing")
    report.last_seq, report.last_hash = last_seq, prev_hash
    if head is None:
        if last_seq:
            report.problems.append("the chain head is missing")
    elif head.seq != last_seq:
        report.problems.append(
            f"chain ends at {last_seq} but head says {head.seq}: newest entries deleted"
        )
    elif head.last_hash != prev_hash:
        report.problems.append("head hash does not match the last entry")
    report.problems.extend(
        f"database guard {name} is missing or disabled: audit rows can be changed in place"
        for name in audit_guards_missing()
    )
    return report


def _check_legacy_anchor(head: AuditHead, last_legacy_hash: str, report: ChainReport) -> None:
    try:
        anchor = legacy_anchor_mac(key_id=head.legacy_key_id, seq=head.legacy_seq, last_hash=last_legacy_hash)
    except AuditKeyError:
        report.problems.append(
            f"the anchor of entries 1..{head.legacy_seq} names key {head.legacy_key_id!r}, "
            "which is not in LINLI_AUDIT_KEYS: restore it"
        )
        return
    if not macs_equal(anchor, head.legacy_mac):
        report.problems.append(
            f"entries 1..{head.legacy_seq} (from before keyed MACs) do not match their anchor: "
            "rewritten"
        )


def audit_checkpoints_verify(checkpoints: Sequence[Checkpoint], *, report: ChainReport) -> list[str]:
    """Compare checkpoints (kept outside the database) with the chain ``report`` describes:
    each checkpoint's entry must still be there with the MAC it had. A chain that ends before
    a checkpoint lost its tail, head and all."""
    problems: list[str] = []
    wanted = [cp.seq for cp in checkpoints if 0 < cp.seq <= report.last_seq]
    stored = dict(AuditEntry.objects.filter(seq__in=wanted).values_list("seq", "hash")) if wanted else {}
    for cp in checkpoints:
        when = cp.written_at.isoformat(timespec="seconds")
        if cp.seq > report.last_seq:
            problems.append(
                f"checkpoint {cp.name} ({when}) recorded {cp.count} entries ending at #{cp.seq}, "
                f"but the chain ends at #{report.last_seq}: newest entries deleted"
            )
        elif cp.seq and not macs_equal(stored.get(cp.seq, ""), cp.mac):
            problems.append(
                f"checkpoint {cp.name} ({when}): entry #{cp.seq} no longer has the MAC it had: "
                "the chain was rewritten up to there"
            )
    return problems


def audit_entries_recent(*, limit: int = 20) -> list[AuditEntry]:
    """The newest ``limit`` entries, oldest first (as a log tail reads)."""
    return list(reversed(AuditEntry.objects.order_by("-seq")[:limit]))


def audit_entries_for_target(*, target_type: str, target_id: str) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(target_type=target_type, target_id=target_id)


def audit_entries_filtered(*, action: str = "", actor: str = "") -> QuerySet[AuditEntry]:
    """The whole trail, newest first, optionally one action and actors matching ``actor``.

    District-wide by design: its readers (auditor, district admin) answer for the district;
    the caller checks that the user is one of them.
    """
    entries = AuditEntry.objects.order_by("-seq")
    if action:
        entries = entries.filter(action=action)
    if actor:
        entries = entries.filter(actor_label__icontains=actor)
    return entries


def audit_actions() -> list[str]:
    """Every action name that occurs in the trail, for a filter menu.

    One index descent per distinct name (a "loose index scan"): ``SELECT DISTINCT`` would read
    the whole action index, millions of entries in a district's trail, on every page view.
    """
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE names (action) AS (SELECT MIN(action) FROM {table} "  # noqa: S608 -- name from model meta
            f"UNION ALL SELECT (SELECT MIN(action) FROM {table} WHERE action > names.action) "
            "FROM names WHERE names.action IS NOT NULL) SELECT action FROM names WHERE action IS NOT NULL",
        )
        return [row[0] for row in cursor.fetchall()]


def audit_entry_count() -> int:
    """How many entries the trail holds, from its head (entries are append-only and numbered
    from 1 without gaps): no count over millions of rows."""
    head = AuditHead.objects.filter(id=1).values_list("seq", flat=True).first()
    return int(head or 0)
