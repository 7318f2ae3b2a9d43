"""Data: every existing case gets a public description, its own description masked by the
rules of :mod:`linli.cases.disclosure` (identifiers starred, addresses cut to the building),
so the public feed keeps showing what it showed, minus the personal data. New cases get
theirs at intake (staff choose; resident reports default to their own text, masked).
Reversing empties the column.
"""

from typing import Any

from django.db import migrations

from linli.cases.disclosure import public_text

BATCH = 2000


def forward(apps: Any, schema_editor: Any) -> None:
    case_model = apps.get_model("cases", "Case")
    batch: list[Any] = []
    for case in case_model.objects.only("id", "description").order_by("id").iterator(chunk_size=BATCH):
        case.public_description = public_text(case.description)
        batch.append(case)
        if len(batch) >= BATCH:
            case_model.objects.bulk_update(batch, ["public_description"])
            batch = []
    if batch:
        case_model.objects.bulk_update(batch, ["public_description"])


def backward(apps: Any, schema_editor: Any) -> None:
    apps.get_model("cases", "Case").objects.update(public_description="")


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0010_case_public_description"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
    ]
