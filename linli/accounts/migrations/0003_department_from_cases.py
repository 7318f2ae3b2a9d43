"""Departments move from ``cases`` down to ``accounts`` (state only: the table stays as it is
here; ``0004_department_table`` renames it once ``cases`` has let go of the model).

Users, cases, dispatch rules, categories and service items then share one department row.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_user_role_department_index"),
        ("cases", "0008_department_grid_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Department",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="创建时间")),
                        ("updated_at", models.DateTimeField(auto_now=True, verbose_name="更新时间")),
                        ("code", models.CharField(max_length=50, unique=True, verbose_name="编码")),
                        ("name", models.CharField(max_length=100, verbose_name="名称")),
                        ("kind", models.CharField(choices=[("agency", "职能部门"), ("team", "专业队伍"), ("enterprise", "企业/物业"), ("community", "社区")], default="agency", max_length=16, verbose_name="类型")),
                        ("active", models.BooleanField(default=True, verbose_name="启用")),
                    ],
                    options={
                        "verbose_name": "部门",
                        "verbose_name_plural": "部门",
                        "ordering": ["code"],
                        "db_table": "cases_department",
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
