"""The digest's vulnerable households as ready-to-send JSON rows (``screen_rows``).

Existing digests keep an empty value until their next rebuild: the rules' version
(``DIGEST_VERSION`` 2) makes every one of them stale. Plain ``ADD COLUMN`` with a database
default on both databases: Django would rebuild the table on SQLite (a NOT NULL column),
and dropping it breaks the digest triggers of migration 0012 that insert into it.
"""

from django.db import migrations, models

ADD = "ALTER TABLE registry_buildingdigest ADD COLUMN screen_rows text NOT NULL DEFAULT ''"
DROP = "ALTER TABLE registry_buildingdigest DROP COLUMN screen_rows"


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0014_household_living_members_triggers'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(ADD, DROP)],
            state_operations=[
                migrations.AddField(
                    model_name='buildingdigest',
                    name='screen_rows',
                    field=models.TextField(db_default='', default=''),
                ),
            ],
        ),
    ]
