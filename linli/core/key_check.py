"""The key check: refuse to start with keys that cannot read the database.

With ``LINLI_GENERATE_SECRETS`` on, a lost ``secrets.json`` used to be replaced by fresh keys
at the next start: linli ran, every personal value was unreadable, and the audit chain still
verified. Now each key, the first time linli meets it, seals a known value into
:class:`~linli.core.models.KeyCheck` (AES-GCM for a PII key, HMAC for the blind-index key and
each audit key). Every start — every ``linli`` command, ``manage.py`` and the web server —
opens those values with the configured keys first, and refuses, naming what to restore and
where, when they do not open:

- a configured key whose check does not open (same id, other key: a regenerated file);
- no configured key of a kind among those that wrote the database (other ids);
- a PII key that still seals data (its check not retired by a finished ``linli_pii_rotate``)
  missing from ``LINLI_PII_KEYS``.

A database that holds encrypted data but no checks yet (written by an earlier linli) is
checked against its data instead: a sample value per encrypted column must decrypt, a blind
index must match, the newest keyed audit entry must verify. Only then are checks recorded.
Keys generated at this start that the database refuses are taken back out of the secrets file
(:func:`linli.config.secrets_discard_generated`): linli never generates keys over data.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC

from django.conf import settings
from django.db import OperationalError, connection, connections, transaction

from linli.config import secrets_discard_generated
from linli.core import pii
from linli.core.audit_mac import AuditKeyError, EntrySigner, audit_keys, entry_body, macs_equal
from linli.core.models import AuditEntry, KeyCheck, KeyCheckKind

KNOWN_VALUE = "linli key check v1"
_FIELD = "core.key_check"
VARIABLE = {
    KeyCheckKind.PII: "LINLI_PII_KEYS",
    KeyCheckKind.BLIND_INDEX: "LINLI_BLIND_INDEX_KEY",
    KeyCheckKind.AUDIT: "LINLI_AUDIT_KEYS",
}
_WHAT = {
    KeyCheckKind.PII: "encrypted this database's personal data",
    KeyCheckKind.BLIND_INDEX: "built this database's search indexes of ID numbers and phones",
    KeyCheckKind.AUDIT: "signed this database's audit chain",
}


class KeysRefusedError(Exception):
    """The configured keys cannot read this database; the message says what to restore."""

    def __init__(self, problems: list[str], message: str) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class _Check:
    kind: KeyCheckKind
    key_id: str
    token: str


def configured_key_ids(kind: KeyCheckKind) -> list[str]:
    if kind == KeyCheckKind.PII:
        return list(settings.LINLI_PII_KEYS)
    if kind == KeyCheckKind.AUDIT:
        return list(audit_keys())
    return [""]


def _audit_token(key_id: str) -> str:
    return hmac.new(audit_keys()[key_id], f"linli.key-check|{KNOWN_VALUE}".encode(), hashlib.sha256).hexdigest()


def seal(kind: KeyCheckKind, key_id: str) -> str:
    """The check value of a configured key."""
    if kind == KeyCheckKind.PII:
        return pii.encrypt(KNOWN_VALUE, field=_FIELD, key_id=key_id)
    if kind == KeyCheckKind.AUDIT:
        return _audit_token(key_id)
    return pii.blind_index(KNOWN_VALUE, field=_FIELD)


def opens(kind: KeyCheckKind, key_id: str, token: str) -> bool:
    """Whether the configured key ``key_id`` made ``token``."""
    if kind == KeyCheckKind.PII:
        try:
            return pii.key_id_of(token) == key_id and pii.decrypt(token, field=_FIELD) == KNOWN_VALUE
        except pii.PiiError:
            return False
    if kind == KeyCheckKind.AUDIT:
        return macs_equal(_audit_token(key_id), token)
    return macs_equal(pii.blind_index(KNOWN_VALUE, field=_FIELD), token)


def judge(kind: KeyCheckKind, *, rows: dict[str, tuple[bool, bool]], configured: list[str]) -> tuple[list[str], list[str]]:
    """Pure: for one kind, the problems and the configured keys to record, from the stored
    checks (key id → (opens with the configured key of that id, retired)) — a configured key
    without a check opens nothing."""
    variable, what = VARIABLE[kind], _WHAT[kind]
    problems: list[str] = []
    known = [key_id for key_id in configured if key_id in rows]
    for key_id in known:
        if not rows[key_id][0]:
            label = f"key {key_id}" if key_id else "the configured key"
            problems.append(f"{variable}: {label} is not the key that {what}")
    if not known:
        problems.append(
            f"{variable}: none of the configured keys ({', '.join(configured)}) {what}; "
            f"it was written with key(s) {', '.join(sorted(rows))}"
        )
    if kind == KeyCheckKind.PII and known:
        problems.extend(
            f"{variable}: key {key_id} still encrypts personal data but is not configured: keep it "
            "(after the current key) until `linli manage linli_pii_rotate` has finished"
            for key_id, (_opens, retired) in sorted(rows.items()) if key_id not in configured and not retired
        )
    return problems, [key_id for key_id in configured if key_id not in rows]


def _data_problem(kind: KeyCheckKind) -> str | None:
    """For a database without checks of ``kind``: can the configured keys read what it holds?"""
    # Imported here: core.services imports this module's neighbours at load time.
    from linli.core.services import encrypted_columns

    variable, what = VARIABLE[kind], _WHAT[kind]
    if kind == KeyCheckKind.AUDIT:
        return _audit_data_problem()
    found, _undeclared = encrypted_columns()
    for model, columns in found.items():
        for column, field_name in columns.items():
            index = column.removesuffix("_enc") + "_bidx"
            wanted = [column, index] if kind == KeyCheckKind.BLIND_INDEX else [column]
            if len(wanted) == 2 and index not in {f.name for f in model._meta.concrete_fields}:
                continue
            rows = model._default_manager.all()
            for name in wanted:
                rows = rows.exclude(**{name: ""})
            sample = rows.values_list(*wanted).first()
            if sample is None:
                continue
            try:
                plain = pii.decrypt(sample[0], field=field_name)
            except pii.PiiError:
                if kind == KeyCheckKind.PII:
                    return (f"{variable}: the configured keys cannot decrypt {model._meta.label}.{column} "
                            f"(sealed with key {pii.key_id_of(sample[0])}): they are not the keys that {what}")
                continue  # reported as a PII problem
            if kind == KeyCheckKind.BLIND_INDEX and not macs_equal(pii.blind_index(plain, field=field_name), sample[1]):
                return f"{variable}: {model._meta.label}.{index} does not match: not the key that {what}"
    return None


def _audit_data_problem() -> str | None:
    newest = AuditEntry.objects.exclude(key_id="").order_by("-seq").first()
    if newest is None:
        return None
    variable, what = VARIABLE[KeyCheckKind.AUDIT], _WHAT[KeyCheckKind.AUDIT]
    body = entry_body(
        seq=newest.seq, created_at=newest.created_at.astimezone(UTC), actor_id=newest.actor_id,
        actor_label=newest.actor_label, action=newest.action, target_type=newest.target_type,
        target_id=newest.target_id, fields=newest.fields, reason=newest.reason, request_id=newest.request_id,
    )
    try:
        mac = EntrySigner(newest.key_id).mac(newest.prev_hash, body)
    except AuditKeyError:
        return f"{variable}: key {newest.key_id} is not configured, yet it {what}"
    if not macs_equal(mac, newest.hash):
        return f"{variable}: key {newest.key_id} is not the key that {what}"
    return None


def _ready() -> bool:
    """Whether the database has the check table (a database not migrated yet has not)."""
    return KeyCheck._meta.db_table in connection.introspection.table_names()


def key_check_problems() -> tuple[list[str], list[_Check]]:
    """What is wrong with the configured keys for this database, and the checks to record
    (for keys met for the first time) when nothing is."""
    problems: list[str] = []
    to_record: list[_Check] = []
    stored = list(KeyCheck.objects.all())
    for kind in KeyCheckKind:
        configured = configured_key_ids(kind)
        mine = {row.key_id: row for row in stored if row.kind == kind}
        if not mine:
            problem = _data_problem(kind)
            if problem:
                problems.append(problem)
            else:
                to_record.extend(_Check(kind, key_id, seal(kind, key_id)) for key_id in configured)
            continue
        rows = {key_id: (key_id in configured and opens(kind, key_id, row.token), row.retired_at is not None)
                for key_id, row in mine.items()}
        found, new = judge(kind, rows=rows, configured=configured)
        problems.extend(found)
        to_record.extend(_Check(kind, key_id, seal(kind, key_id)) for key_id in new)
    return problems, to_record


def refusal_message(problems: Iterable[str]) -> str:
    """What went wrong, where the keys came from, and what to restore where."""
    found = settings.LINLI_SECRETS
    lines = ["linli refuses to start: the configured keys cannot read this database.",
             *(f"  - {problem}" for problem in problems), "The keys were read from:"]
    lines.extend(f"  {name}: {found.sources.get(name, 'not set')}" for name in VARIABLE.values())
    lines.append(
        "Restore the keys this database was written with, then start again: the secrets.json "
        f"from your key backup to {found.path}, or the LINLI_PII_KEYS, LINLI_BLIND_INDEX_KEY and "
        "LINLI_AUDIT_KEYS values in the environment (see docs/deployment.md, \"Keys\"). Nothing "
        "was written to the database."
    )
    return "\n".join(lines)


def key_check_ensure() -> list[str]:
    """Refuse (:class:`KeysRefusedError`) when the configured keys cannot read this database;
    otherwise record checks for keys met for the first time and return their labels.

    Runs before any command or the web server does anything (``linli.cli``, ``manage.py``,
    ``linli.wsgi``) and after ``migrate``. A database without the check table (not migrated
    yet) is left alone."""
    if not _ready():
        return []
    with transaction.atomic():
        problems, to_record = key_check_problems()
        if problems:
            raise _refuse(problems)
        KeyCheck.objects.bulk_create(
            [KeyCheck(kind=c.kind, key_id=c.key_id, token=c.token) for c in to_record],
            ignore_conflicts=True,  # two processes starting at once record the same keys
        )
        current = settings.LINLI_PII_CURRENT_KEY
        KeyCheck.objects.filter(kind=KeyCheckKind.PII, key_id=current, retired_at__isnull=False).update(retired_at=None)
    return [f"{c.kind}:{c.key_id}" if c.key_id else str(c.kind) for c in to_record]


def keys_refused_at_start() -> str | None:
    """For a command about to start: the refusal's message, or ``None`` to go on. A database
    that cannot be reached is left to the command (which may not need one: ``collectstatic``).
    Closes the connection it used, so that no process forked later inherits it."""
    try:
        key_check_ensure()
    except KeysRefusedError as exc:
        return str(exc)
    except OperationalError:
        return None
    finally:
        for alias in connections:
            if not connections[alias].in_atomic_block:  # a test's transaction stays open
                connections[alias].close()
    return None


def _refuse(problems: list[str]) -> KeysRefusedError:
    message = refusal_message(problems)
    found = settings.LINLI_SECRETS
    if found.generated:
        aside = secrets_discard_generated(found)
        names = ", ".join(sorted(found.generated))
        where = f"moved aside to {aside}" if aside else f"taken out of {found.path} again"
        message += (f"\nThis start generated {names} because they were missing from {found.path}; "
                    f"they never sealed anything and were {where}.")
    return KeysRefusedError(problems, message)
