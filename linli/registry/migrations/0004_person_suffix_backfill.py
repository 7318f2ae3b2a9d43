"""Fill the suffix indexes of persons already stored (the same code as the
``linli_suffix_index`` command, on the historical model)."""

from typing import Any

from django.db import migrations


def backfill(apps: Any, schema_editor: Any) -> None:
    from linli.registry.services.suffixes import suffix_backfill

    suffix_backfill(apps.get_model("registry", "Person"))


class Migration(migrations.Migration):
    # Batches commit one by one: an interrupted backfill keeps its progress.
    atomic = False

    dependencies = [("registry", "0003_person_suffix_index")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
