"""Reads of the core app: the audit trail and its integrity check, and change stamps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC

from django.db import connection
from django.db.models import QuerySet

from linli.core.models import AuditEntry, AuditHead, ChangeStamp
from linli.core.services import GENESIS_HASH, audit_entry_digest


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

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_chain_verify(*, batch_size: int = 5000) -> ChainReport:
    """Recompute every hash in order; report changed rows, gaps (deleted rows) and a cut tail.

    The head row remembers the last sequence number and hash, so deleting the newest
    entries is detected as well as deleting or changing any earlier one.
    """
    report = ChainReport()
    prev_hash = GENESIS_HASH
    expected_seq = 1
    last_seq = 0
    rows = AuditEntry.objects.order_by("seq").values_list(
        "seq", "created_at", "actor_id", "actor_label", "action", "target_type", "target_id",
        "fields", "reason", "request_id", "prev_hash", "hash",
    )
    for (seq, created_at, actor_id, label, action, target_type, target_id, fields, reason,
         request_id, stored_prev, stored_hash) in rows.iterator(chunk_size=batch_size):
        report.checked += 1
        if seq != expected_seq:
            report.problems.append(f"entries {expected_seq}..{seq - 1} are missing")
        if stored_prev != prev_hash:
            report.problems.append(f"entry {seq}: previous hash does not match entry before it")
        digest = audit_entry_digest(
            prev_hash=stored_prev, seq=seq,
            created_at=created_at.astimezone(UTC), actor_id=actor_id,
            actor_label=label, action=action, target_type=target_type, target_id=target_id,
            fields=list(fields), reason=reason, request_id=request_id,
        )
        if digest != stored_hash:
            report.problems.append(f"entry {seq}: content changed after it was written")
        prev_hash = stored_hash
        expected_seq = seq + 1
        last_seq = seq
    head = AuditHead.objects.filter(id=1).first()
    if head is None:
        if last_seq:
            report.problems.append("the chain head is missing")
    elif head.seq != last_seq:
        report.problems.append(
            f"chain ends at {last_seq} but head says {head.seq}: newest entries deleted"
        )
    elif head.last_hash != prev_hash:
        report.problems.append("head hash does not match the last entry")
    return report


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
