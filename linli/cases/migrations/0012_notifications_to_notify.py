"""Copy the case notifications into the notify app's inbox (one row each, read state kept).

They were written and "sent" (logged) already, so they get no delivery: the outbox starts
with what is enqueued from now on. Reversing leaves notify's copies in place."""

from typing import Any

from django.db import migrations

KIND_EVENT = {
    "supervise_1": "case.overdue", "supervise_2": "case.overdue_severe", "supervise_3": "case.supervised",
}


def forwards(apps: Any, schema_editor: Any) -> None:
    old = apps.get_model("cases", "CaseNotification")
    new = apps.get_model("notify", "Notification")
    batch = []
    for row in old.objects.filter(recipient__isnull=False).order_by("pk").iterator(chunk_size=2000):
        batch.append(new(
            recipient_id=row.recipient_id, event_type=KIND_EVENT.get(row.kind, f"case.{row.kind}"),
            object_type="cases.Case", object_id=str(row.case_id), link=f"/cases/{row.case_id}/",
            title=row.message[:120], body=row.message, dedup_key=f"casenotification:{row.pk}",
            read_at=row.read_at, created_at=row.created_at))
        if len(batch) >= 2000:
            new.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    new.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_case_public_description_fill"),
        ("notify", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
