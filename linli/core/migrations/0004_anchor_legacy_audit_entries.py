"""Pin the entries written before keyed MACs (plain SHA-256) with a MAC of the chain's head.

Until now each entry's hash was an unkeyed SHA-256, which anyone who can write the database
can recompute after changing a row. Rewriting those entries is not possible (it would bless
whatever was changed), so they keep their hashes and the head records, once, how many there
are and a MAC — under the current ``LINLI_AUDIT_KEYS`` key — of the last one's hash. From here
on every entry carries a keyed MAC; ``linli audit verify`` accepts unkeyed entries only up to
that number and only while the anchor verifies. A database without entries gets no anchor.

The MAC is written out here rather than imported so that the migration stays what it was; it
must match ``linli.core.audit_mac.legacy_anchor_mac``.
"""

import hashlib
import hmac

from django.conf import settings
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def anchor_legacy_entries(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    head_model = apps.get_model("core", "AuditHead")
    head = head_model.objects.using(schema_editor.connection.alias).filter(id=1).first()
    if head is None or head.seq == 0 or head.legacy_seq:
        return
    key_id: str = settings.LINLI_AUDIT_CURRENT_KEY
    key: bytes = settings.LINLI_AUDIT_KEYS[key_id]
    message = f"linli.audit.legacy-anchor|{head.seq}|{head.last_hash}".encode()
    head.legacy_seq = head.seq
    head.legacy_key_id = key_id
    head.legacy_mac = hmac.new(key, message, hashlib.sha256).hexdigest()
    head.save(update_fields=["legacy_seq", "legacy_key_id", "legacy_mac"])


def drop_anchor(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    head_model = apps.get_model("core", "AuditHead")
    head_model.objects.using(schema_editor.connection.alias).filter(id=1).update(
        legacy_seq=0, legacy_key_id="", legacy_mac="",
    )


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0003_audit_mac_and_key_check"),
    ]

    operations = [
        migrations.RunPython(anchor_legacy_entries, drop_anchor),
    ]
