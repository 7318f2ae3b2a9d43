"""A user's department becomes a foreign key. The old free text stays as
``department_label`` until ``0006`` has turned it into the key; ``0007`` drops it."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0004_department_table"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="user", name="user_role_department_idx"),
        migrations.RenameField(model_name="user", old_name="department", new_name="department_label"),
        migrations.AddField(
            model_name="user",
            name="department",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="staff", to="accounts.department", verbose_name="所属部门"),
        ),
    ]
