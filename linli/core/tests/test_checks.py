"""The database collation check behind registry prefix search."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.db import connection

from linli.core.checks import COLLATION_CHECK_ID, collation_messages


def test_postgresql_with_a_linguistic_collation_gets_a_warning_naming_it():
    # when
    messages = collation_messages(vendor="postgresql", collation="zh_CN.UTF-8",
                                  sorts_by_code_point=False)
    # then
    assert [m.id for m in messages] == [COLLATION_CHECK_ID]
    assert "zh_CN.UTF-8" in messages[0].msg
    assert "docs/deployment.md" in str(messages[0].hint)


@pytest.mark.parametrize(("vendor", "ordered"), [("postgresql", True), ("sqlite", False)])
def test_code_point_order_and_sqlite_need_no_warning(vendor, ordered):
    assert collation_messages(vendor=vendor, collation="C.UTF-8", sorts_by_code_point=ordered) == []


@pytest.mark.django_db
def test_the_registered_check_probes_the_test_database():
    # given the database the suite runs on (SQLite BINARY, or PostgreSQL created with C.UTF-8)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'B' < 'a'")
        code_point_order = bool(cursor.fetchone()[0])
    # when Django runs its database checks
    found = [m.id for m in run_checks(databases=["default"], include_deployment_checks=False)]
    # then the warning appears exactly when the database does not sort by code point
    expected = connection.vendor == "postgresql" and not code_point_order
    assert (COLLATION_CHECK_ID in found) == expected
