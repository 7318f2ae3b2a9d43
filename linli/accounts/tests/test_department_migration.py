"""The move of departments to accounts keeps existing data: users' and service items'
department texts become keys to the same rows cases already point at, and back again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from linli.cases.taxonomy import taxonomy_load

BEFORE = [("accounts", "0002_user_role_department_index"), ("cases", "0008_department_grid_index"),
          ("catalogue", "0001_initial")]
AFTER = [("accounts", "0007_user_department_label_remove"), ("cases", "0009_department_to_accounts"),
         ("catalogue", "0004_serviceitem_department_required")]


def migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_schema(transactional_db: None) -> Iterator[Any]:
    apps = migrate(BEFORE)
    # A transactional test run earlier on this worker ends with a flush, which empties the
    # departments the seed migration wrote: put the seed back as that migration would.
    department = apps.get_model("cases", "Department")
    if not department.objects.exists():
        taxonomy_load(department, apps.get_model("cases", "Category"), apps.get_model("cases", "DispatchRule"))
    yield apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_department_texts_become_keys_to_the_departments_cases_use_and_back(old_schema: Any) -> None:
    # given the old schema: users and items name their department in text
    department = old_schema.get_model("cases", "Department")
    user, item = old_schema.get_model("accounts", "User"), old_schema.get_model("catalogue", "ServiceItem")
    minzheng_id = department.objects.get(code="minzheng").pk
    for username, role, text in [("u_mz", "department_staff", "民政"), ("u_hw", "department_staff", "huanwei"),
                                 ("u_new", "department_staff", "文旅站"), ("u_gw", "grid_worker", "近江社区")]:
        user.objects.create(username=username, role=role, department=text, password="!")
    for code, text in [("A1", "残联"), ("A2", "民政办"), ("A3", "文旅")]:
        item.objects.create(code=code, name=code, department=text, level="street", kind="promised")
    # when
    apps = migrate(AFTER)
    # then the rows are the same departments, the ids kept
    new_user, new_item = apps.get_model("accounts", "User"), apps.get_model("catalogue", "ServiceItem")
    users = {u.username: u.department.code if u.department else None for u in new_user.objects.all()}
    assert users == {"u_mz": "minzheng", "u_hw": "huanwei", "u_new": "文旅站", "u_gw": None}
    assert new_user.objects.get(username="u_mz").department_id == minzheng_id
    items = {i.code: i.department.code for i in new_item.objects.all()}
    assert items == {"A1": "canlian", "A2": "minzheng", "A3": "文旅"}
    # when reversed
    apps = migrate(BEFORE)
    # then the texts are back (codes for users, short names for items)
    texts = dict(apps.get_model("accounts", "User").objects.values_list("username", "department"))
    assert texts == {"u_mz": "minzheng", "u_hw": "huanwei", "u_new": "文旅站", "u_gw": ""}
    items_back = dict(apps.get_model("catalogue", "ServiceItem").objects.values_list("code", "department"))
    assert items_back == {"A1": "残联", "A2": "民政", "A3": "文旅"}
