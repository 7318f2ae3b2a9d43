"""Data: the seed departments (the catalogue's lines such as 残联 were missing), and each
user's department text turned into the department it names.

A text names a department by its code ("minzheng"), its name ("民政办") or its short name
("民政"). Department staff whose text names none get a department of that name, so that
nobody loses the cases and applications they handle; for other roles the text was a label
(a community's or office's name) and is dropped. Reversing writes the department's code
back as the text.
"""

from typing import Any

from django.db import migrations

from linli.accounts.departments_seed import DEPARTMENTS, seed_department_for


def forward(apps: Any, schema_editor: Any) -> None:
    department_model = apps.get_model("accounts", "Department")
    user_model = apps.get_model("accounts", "User")
    for seed in DEPARTMENTS:
        department_model.objects.get_or_create(code=seed.code, defaults={"name": seed.name, "kind": seed.kind})
    by_text: dict[str, Any] = {}
    for department in department_model.objects.all():
        by_text.setdefault(department.name, department)
        by_text[department.code] = department
    for user in user_model.objects.exclude(department_label=""):
        text = user.department_label.strip()
        department = by_text.get(text)
        if department is None:
            seed = seed_department_for(text)
            department = by_text.get(seed.code) if seed else None
        if department is None and user.role == "department_staff":
            department, _created = department_model.objects.get_or_create(
                code=text[:50], defaults={"name": text[:100]})
            by_text[text] = department
        if department is not None:
            user.department = department
            user.save(update_fields=["department"])


def backward(apps: Any, schema_editor: Any) -> None:
    user_model = apps.get_model("accounts", "User")
    for user in user_model.objects.filter(department__isnull=False).select_related("department"):
        user.department_label = user.department.code
        user.save(update_fields=["department_label"])


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0005_user_department_fk"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
    ]
