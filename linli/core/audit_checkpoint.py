"""Checkpoint files: the audit chain's head, written down outside the database.

Whoever can write the database can delete the newest entries and move the head back onto an
older entry: every remaining MAC still verifies. A checkpoint — the head's number and MAC at a
moment, signed with the audit key — kept where that person cannot reach (another host, write-
once storage, paper) makes such a cut visible: the chain must still hold each checkpoint's
entry with the same MAC. ``linli audit checkpoint`` writes one (daily); ``linli audit
verify`` compares the chain with every checkpoint in the folder.

The file is plain text, one ``name: value`` a line, so that it can be printed and compared by
eye::

    linli audit checkpoint
    written: 2026-03-02T09:00:00+08:00
    entries: 12345
    head: 12345
    mac: 3f2a…
    key: a1
    signature: 9b1c…
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from linli.core.audit_mac import AuditKeyError, checkpoint_signature, macs_equal

TITLE = "linli audit checkpoint"
_PATTERN = "linli-audit-checkpoint-*.txt"
_FIELDS = ("written", "entries", "head", "mac", "key")


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint file's content (its signature already checked)."""

    name: str
    written_at: datetime
    count: int
    seq: int
    mac: str
    key_id: str


def _body(*, written_at: datetime, count: int, seq: int, mac: str, key_id: str) -> str:
    values = (written_at.isoformat(timespec="seconds"), str(count), str(seq), mac, key_id)
    return "\n".join([TITLE, *(f"{name}: {value}" for name, value in zip(_FIELDS, values, strict=True))])


def checkpoint_text(*, written_at: datetime, count: int, seq: int, mac: str, key_id: str) -> str:
    """The file's text: the lines above and their signature (the audit key's MAC)."""
    body = _body(written_at=written_at, count=count, seq=seq, mac=mac, key_id=key_id)
    return f"{body}\nsignature: {checkpoint_signature(key_id=key_id, text=body)}\n"


def checkpoint_write(directory: Path, *, written_at: datetime, count: int, seq: int, mac: str,
                     key_id: str) -> Path:
    """Write a checkpoint file (never over another: the name carries time and entry number)."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = written_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"linli-audit-checkpoint-{stamp}-{seq}.txt"
    text = checkpoint_text(written_at=written_at, count=count, seq=seq, mac=mac, key_id=key_id)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def checkpoint_parse(name: str, text: str) -> Checkpoint:
    """The checkpoint in ``text``; ``ValueError`` naming what is wrong (format or signature)."""
    lines = text.strip().splitlines()
    if not lines or lines[0].strip() != TITLE:
        raise ValueError("not a linli audit checkpoint")
    values: dict[str, str] = {}
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"unreadable line {line!r}")
        values[key.strip()] = value.strip()
    missing = [name for name in (*_FIELDS, "signature") if name not in values]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    try:
        checkpoint = Checkpoint(
            name=name, written_at=datetime.fromisoformat(values["written"]),
            count=int(values["entries"]), seq=int(values["head"]), mac=values["mac"],
            key_id=values["key"],
        )
    except ValueError as exc:
        raise ValueError(f"unreadable value: {exc}") from None
    body = _body(written_at=checkpoint.written_at, count=checkpoint.count, seq=checkpoint.seq,
                 mac=checkpoint.mac, key_id=checkpoint.key_id)
    try:
        signature = checkpoint_signature(key_id=checkpoint.key_id, text=body)
    except AuditKeyError as exc:
        raise ValueError(f"cannot check its signature: {exc}") from None
    if not macs_equal(signature, values["signature"]):
        raise ValueError("the signature does not match its content: the file was edited")
    return checkpoint


def checkpoints_read(directory: Path) -> tuple[list[Checkpoint], list[str]]:
    """Every checkpoint in ``directory``, oldest first, and a problem per file that is not a
    valid one (edited, truncated, signed with an unknown key)."""
    checkpoints: list[Checkpoint] = []
    problems: list[str] = []
    if not directory.is_dir():
        return checkpoints, problems
    for path in sorted(directory.glob(_PATTERN)):
        try:
            checkpoints.append(checkpoint_parse(path.name, path.read_text(encoding="utf-8")))
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            problems.append(f"checkpoint {path.name}: {exc}")
    checkpoints.sort(key=lambda cp: (cp.seq, cp.written_at))
    return checkpoints, problems
