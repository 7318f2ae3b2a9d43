"""The department table takes the accounts name (``cases_department`` → ``accounts_department``).

Foreign keys and the change-stamp triggers of ``cases.0007`` follow the renamed table on
both PostgreSQL and SQLite (≥ 3.26), so nothing else is rewritten."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_department_from_cases"),
        ("cases", "0009_department_to_accounts"),
    ]

    operations = [
        migrations.AlterModelTable(name="department", table=None),
    ]
