"""Load the seed catalogue (departments, categories, default dispatch rules); reversible."""

from typing import Any

from django.db import migrations

from linli.cases.taxonomy import taxonomy_load, taxonomy_unload


def load(apps: Any, schema_editor: Any) -> None:
    taxonomy_load(
        apps.get_model("cases", "Department"), apps.get_model("cases", "Category"),
        apps.get_model("cases", "DispatchRule"),
    )


def unload(apps: Any, schema_editor: Any) -> None:
    taxonomy_unload(
        apps.get_model("cases", "Department"), apps.get_model("cases", "Category"),
        apps.get_model("cases", "DispatchRule"),
    )


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
