"""The free-text department is gone; staff are found by role and department key."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0006_user_department_data"),
    ]

    operations = [
        migrations.RemoveField(model_name="user", name="department_label"),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["role", "department"], name="user_role_department_idx"),
        ),
    ]
