from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChangeStamp",
            fields=[
                ("topic", models.CharField(max_length=40, primary_key=True, serialize=False)),
                ("generation", models.BigIntegerField()),
            ],
            options={
                "verbose_name": "变更戳",
                "ordering": ["topic"],
            },
        ),
    ]
