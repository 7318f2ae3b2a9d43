"""The item's department text is gone; every item has its department key."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("catalogue", "0003_serviceitem_department_data"),
    ]

    operations = [
        # ``blank`` changes nothing in the table; it lets a reverse migration add the column
        # back with an empty default before 0003 fills it.
        migrations.AlterField(model_name="serviceitem", name="department_line",
                              field=models.CharField(blank=True, db_index=True, max_length=50, verbose_name="主管部门")),
        migrations.RemoveField(model_name="serviceitem", name="department_line"),
        migrations.AlterField(
            model_name="serviceitem",
            name="department",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="service_items", to="accounts.department", verbose_name="主管部门"),
        ),
    ]
