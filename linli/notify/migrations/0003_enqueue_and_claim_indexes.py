"""Indexes for the set-based broadcast and the relay's claim (issue 18).

- ``Notification.recipient`` loses its own index (the dedup, unread and inbox indexes all
  lead with the column): dropped by name, so SQLite does not copy the whole table as
  ``AlterField`` would there.
- ``Delivery``: the claim reads ``(channel, next_attempt_at, id)`` over due rows in order;
  the ``(state, channel)`` index over every row becomes a partial one of retries and dead
  letters for the operator's page.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _recipient_index_name(schema_editor):
    return schema_editor._create_index_name("notify_notification", ["recipient_id"])


def _recipient_index_drop(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(_recipient_index_name(schema_editor))}")


def _recipient_index_create(apps, schema_editor):
    name = schema_editor.quote_name(_recipient_index_name(schema_editor))
    schema_editor.execute(f"CREATE INDEX {name} ON notify_notification (recipient_id)")


class Migration(migrations.Migration):

    dependencies = [
        ('notify', '0002_unread_counter'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='delivery',
            name='notify_delivery_due_idx',
        ),
        migrations.RemoveIndex(
            model_name='delivery',
            name='notify_delivery_state_idx',
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='notification',
                    name='recipient',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL, verbose_name='接收人'),
                ),
            ],
            database_operations=[migrations.RunPython(_recipient_index_drop, _recipient_index_create)],
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(condition=models.Q(('state__in', ['pending', 'failed'])), fields=['channel', 'next_attempt_at', 'id'], name='notify_delivery_claim_idx'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(condition=models.Q(('state__in', ['failed', 'dead'])), fields=['state', '-updated_at'], name='notify_delivery_outbox_idx'),
        ),
    ]
