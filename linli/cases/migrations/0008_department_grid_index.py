"""A department's cases in its grids: one index on (department, grid); the department's own
index goes (its column leads two composite indexes), so intake writes no more index entries."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0007_reference_change_stamp'),
        ('geo', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='case',
            name='department',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='cases.department', verbose_name='处置部门'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['department', 'grid'], name='case_department_grid_idx'),
        ),
    ]
