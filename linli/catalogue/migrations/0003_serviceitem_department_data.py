"""Data: each item's department text ("民政", "残联" …) turned into the department it names
(by code, name or short name); a text naming none becomes a department of that name, so no
item loses its department. Reversing writes the short name back (the name for a department
that has none)."""

from typing import Any

from django.db import migrations

from linli.accounts.departments_seed import seed_department_for


def forward(apps: Any, schema_editor: Any) -> None:
    department_model = apps.get_model("accounts", "Department")
    item_model = apps.get_model("catalogue", "ServiceItem")
    found: dict[str, Any] = {}
    for text in set(item_model.objects.values_list("department_line", flat=True)):
        clean = text.strip()
        department = (department_model.objects.filter(code=clean).first()
                      or department_model.objects.filter(name=clean).first())
        seed = seed_department_for(clean)
        if department is None and seed is not None:
            department, _created = department_model.objects.get_or_create(
                code=seed.code, defaults={"name": seed.name, "kind": seed.kind})
        if department is None:
            department, _created = department_model.objects.get_or_create(
                code=clean[:50], defaults={"name": clean[:100]})
        found[text] = department
    for text, department in found.items():
        item_model.objects.filter(department_line=text).update(department=department)


def backward(apps: Any, schema_editor: Any) -> None:
    item_model = apps.get_model("catalogue", "ServiceItem")
    for item in item_model.objects.select_related("department"):
        department = item.department
        seed = seed_department_for(department.code) if department else None
        item.department_line = (seed.lines[0] if seed and seed.lines else department.name) if department else ""
        item.save(update_fields=["department_line"])


class Migration(migrations.Migration):

    dependencies = [
        ("catalogue", "0002_serviceitem_department_fk"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
    ]
