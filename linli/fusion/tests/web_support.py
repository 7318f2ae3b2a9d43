"""Helpers shared by the fusion page and API tests: files as departments send them, a
second street whose staff must see nothing of the first, and logged-in clients."""

from __future__ import annotations

import csv
import io
from typing import Any

import xlsxwriter
from django.test import Client

from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment, User
from linli.geo.choices import AreaLevel
from linli.geo.models import Area

PASSWORD = "Linli-test-2026"


def csv_bytes(header: list[str], rows: list[list[str]], *, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(sheets: dict[str, list[list[Any]]], *, formula_at: tuple[str, int, int] | None = None) -> bytes:
    """A workbook with one sheet per entry (first row the header); optionally one formula cell."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
        if formula_at is not None and formula_at[0] == name:
            sheet.write_formula(formula_at[1], formula_at[2], "=1+1")
    workbook.close()
    return buffer.getvalue()


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _area(level: AreaLevel, code: str, name: str, parent: Area) -> Area:
    area = Area.objects.create(level=level, code=code, name=name, parent=parent, path="")
    area.path = f"{parent.path}{area.pk}/"
    area.save(update_fields=["path"])
    return area


def other_street_staff(district: Area) -> User:
    """Street staff of another street of the same district, with one grid of its own."""
    street = _area(AreaLevel.STREET, "330102009", "紫阳街道", district)
    community = _area(AreaLevel.COMMUNITY, "330102009001", "紫阳社区", street)
    _area(AreaLevel.GRID, "330102009001001", "紫阳社区第1网格", community)
    user = User.objects.create_user(username="street_other", password=PASSWORD, role=Role.STREET_STAFF,
                                    display_name="street_other")
    AreaAssignment.objects.create(user=user, area=street, kind=AssignmentKind.MEMBER)
    return user
