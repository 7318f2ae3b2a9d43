"""Database triggers that make the audit tables append-only for every client, not just the ORM.

- ``core_auditentry``: every ``UPDATE`` and ``DELETE`` (and, on PostgreSQL, ``TRUNCATE``) is
  refused.
- ``core_audithead``: never deleted (or truncated); an update may only move the head forward
  onto an entry that exists with that MAC, and never touch the anchor of the entries from
  before keyed MACs (``legacy_*``).

They stop mistakes, scripts and any SQL that reaches the database through linli. The owner of
the tables can still drop them: production runs linli as a role that owns nothing and holds no
``UPDATE``/``DELETE``/``TRUNCATE`` on the audit tables (docs/deployment.md), and ``linli audit
verify`` reports a missing or disabled trigger. On SQLite, a later migration that rebuilds one
of these tables (Django's table remake) drops its triggers and must create them again.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

_HEAD_CHANGE_REFUSED = (
    "NEW.id <> OLD.id OR NEW.seq < OLD.seq OR NEW.legacy_seq <> OLD.legacy_seq"
    " OR NEW.legacy_key_id <> OLD.legacy_key_id OR NEW.legacy_mac <> OLD.legacy_mac"
    " OR ((NEW.seq <> OLD.seq OR NEW.last_hash <> OLD.last_hash) AND NOT EXISTS"
    " (SELECT 1 FROM core_auditentry WHERE seq = NEW.seq AND hash = NEW.last_hash))"
)

_PG = [
    """
CREATE OR REPLACE FUNCTION linli_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'linli: the audit log is append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
""",
    f"""
CREATE OR REPLACE FUNCTION linli_audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'linli: the audit head cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF {_HEAD_CHANGE_REFUSED} THEN
        RAISE EXCEPTION 'linli: the audit head only moves forward onto an existing entry'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$
""",
    "CREATE TRIGGER linli_audit_entry_guard BEFORE UPDATE OR DELETE ON core_auditentry"
    " FOR EACH ROW EXECUTE FUNCTION linli_audit_refuse()",
    "CREATE TRIGGER linli_audit_entry_truncate_guard BEFORE TRUNCATE ON core_auditentry"
    " FOR EACH STATEMENT EXECUTE FUNCTION linli_audit_refuse()",
    "CREATE TRIGGER linli_audit_head_guard BEFORE UPDATE OR DELETE ON core_audithead"
    " FOR EACH ROW EXECUTE FUNCTION linli_audit_head_forward()",
    "CREATE TRIGGER linli_audit_head_truncate_guard BEFORE TRUNCATE ON core_audithead"
    " FOR EACH STATEMENT EXECUTE FUNCTION linli_audit_refuse()",
]

_PG_DROP = [
    "DROP TRIGGER IF EXISTS linli_audit_entry_guard ON core_auditentry",
    "DROP TRIGGER IF EXISTS linli_audit_entry_truncate_guard ON core_auditentry",
    "DROP TRIGGER IF EXISTS linli_audit_head_guard ON core_audithead",
    "DROP TRIGGER IF EXISTS linli_audit_head_truncate_guard ON core_audithead",
    "DROP FUNCTION IF EXISTS linli_audit_refuse()",
    "DROP FUNCTION IF EXISTS linli_audit_head_forward()",
]

_SQLITE = [
    "CREATE TRIGGER linli_audit_entry_no_update BEFORE UPDATE ON core_auditentry"
    " BEGIN SELECT RAISE(ABORT, 'linli: the audit log is append-only (UPDATE on core_auditentry)'); END",
    "CREATE TRIGGER linli_audit_entry_no_delete BEFORE DELETE ON core_auditentry"
    " BEGIN SELECT RAISE(ABORT, 'linli: the audit log is append-only (DELETE on core_auditentry)'); END",
    "CREATE TRIGGER linli_audit_head_no_delete BEFORE DELETE ON core_audithead"
    " BEGIN SELECT RAISE(ABORT, 'linli: the audit head cannot be deleted'); END",
    f"CREATE TRIGGER linli_audit_head_forward_only BEFORE UPDATE ON core_audithead WHEN {_HEAD_CHANGE_REFUSED}"
    " BEGIN SELECT RAISE(ABORT, 'linli: the audit head only moves forward onto an existing entry'); END",
]

_SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {name}" for name in (
        "linli_audit_entry_no_update", "linli_audit_entry_no_delete", "linli_audit_head_no_delete",
        "linli_audit_head_forward_only",
    )
]


def create_guards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in {"postgresql", "sqlite"}:  # pragma: no cover - linli runs on these two
        raise NotImplementedError(vendor)
    for statement in _PG if vendor == "postgresql" else _SQLITE:
        schema_editor.execute(statement, params=None)


def drop_guards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    for statement in _PG_DROP if schema_editor.connection.vendor == "postgresql" else _SQLITE_DROP:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0004_anchor_legacy_audit_entries"),
    ]

    operations = [
        migrations.RunPython(create_guards, drop_guards),
    ]
