"""Move the applicants' SMS notices into the notify outbox.

Each becomes an address-only notification (applicants have a phone, not an account) with
one SMS delivery: pending ones stay pending (the relay sends them), sent ones are recorded
sent, failed ones become dead letters an operator may resend, skipped ones (no phone) get
no delivery. The phone is re-encrypted under notify's field binding. Not reversible."""

import hashlib
from typing import Any

from django.db import migrations

STATE = {"pending": "pending", "sent": "sent", "failed": "dead"}


def forwards(apps: Any, schema_editor: Any) -> None:
    from linli.core import pii

    old = apps.get_model("catalogue", "Notification")
    notification_model = apps.get_model("notify", "Notification")
    delivery_model = apps.get_model("notify", "Delivery")
    for row in old.objects.order_by("pk").iterator(chunk_size=1000):
        dedup = f"catalogue-notification:{row.pk}"
        notice = notification_model.objects.create(
            recipient=None, event_type="application.status", object_type="catalogue.application",
            object_id=str(row.application_id), link=f"/services/applications/{row.application_id}/",
            title=row.message[:120], body=row.message, dedup_key=dedup, created_at=row.created_at)
        state = STATE.get(row.status)
        if state is None or not row.phone_enc:
            continue
        phone = pii.decrypt(row.phone_enc, field="notification.phone")
        key = hashlib.sha256(f"0\x1f{dedup}\x1fsms\x1f".encode()).hexdigest()[:40]
        delivery_model.objects.create(
            notification=notice, channel="sms", idempotency_key=key, state=state,
            address_enc=pii.encrypt(phone, field="notify.address"), address_masked=row.recipient_masked,
            attempts=0 if state == "pending" else 1, next_attempt_at=row.created_at, sent_at=row.sent_at,
            last_error=row.error, created_at=row.created_at)


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0004_serviceitem_department_required"),
        ("notify", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
