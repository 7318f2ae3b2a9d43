"""Categories, dispatch rules and cases point at ``accounts.Department`` (state only: the
same table, the same rows and ids, so no case row is touched)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0008_department_grid_index"),
        ("accounts", "0003_department_from_cases"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="category",
                    name="department",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="categories", to="accounts.department", verbose_name="责任部门"),
                ),
                migrations.AlterField(
                    model_name="dispatchrule",
                    name="department",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="dispatch_rules", to="accounts.department", verbose_name="部门"),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="department",
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="cases", to="accounts.department", verbose_name="处置部门"),
                ),
                migrations.DeleteModel(name="Department"),
            ],
            database_operations=[],
        ),
    ]
