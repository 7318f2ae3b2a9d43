"""A service item's department becomes a foreign key to ``accounts.Department`` (the text
stays as ``department_line`` until ``0003`` has turned it into the key)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("catalogue", "0001_initial"),
        ("accounts", "0006_user_department_data"),
    ]

    operations = [
        migrations.RenameField(model_name="serviceitem", old_name="department", new_name="department_line"),
        migrations.AddField(
            model_name="serviceitem",
            name="department",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="service_items", to="accounts.department", verbose_name="主管部门"),
        ),
    ]
