from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0005_person_unplaced_area'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='building',
            index=models.Index(fields=['lon', 'lat'], name='building_lon_lat_idx'),
        ),
    ]
