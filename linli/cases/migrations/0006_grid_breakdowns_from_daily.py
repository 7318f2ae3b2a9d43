"""A grid's breakdowns (大类, source, department) are read from the daily table: index it
by grid and drop the grids' own breakdown rows from the area rollup, which the code no
longer keeps current. With those gone the area table is about a fifth of its size, so
PostgreSQL may leave half of each page free: every case adds to counters of rows that
exist (its areas' day, week and month), and with room on the page those updates stay
there (HOT) instead of adding an entry to each of the table's three indexes."""

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

GRID_LEVEL = 5  # linli.geo.choices.AreaLevel.GRID when this migration was written


def drop_grid_breakdowns(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    area = apps.get_model("geo", "Area")
    rollup = apps.get_model("cases", "CaseRollupArea")
    grids = area.objects.using(schema_editor.connection.alias).filter(level=GRID_LEVEL).values("pk")
    rollup.objects.using(schema_editor.connection.alias).exclude(dim="all").filter(area_id__in=grids).delete()


def area_fillfactor(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor, value: int = 50) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE cases_caserolluparea SET (fillfactor = {int(value)})")


def area_fillfactor_back(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    area_fillfactor(apps, schema_editor, value=100)


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0005_rollup_area_period_index"),
        ("geo", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="caserollup",
            index=models.Index(fields=["grid_id", "day"], name="case_rollup_grid_day"),
        ),
        migrations.RunPython(drop_grid_breakdowns, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(area_fillfactor, area_fillfactor_back),
    ]
