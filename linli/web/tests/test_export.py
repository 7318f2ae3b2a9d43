"""The grid persons CSV: masked rows for exporters, 403/404 for everyone else."""

from __future__ import annotations

import csv
import io

from django.test import Client
from django.urls import reverse

from conftest import Tree, Users, make_user
from linli.accounts.choices import AssignmentKind, Role
from linli.core.models import AuditEntry
from linli.web.tests.conftest import Street


def _rows(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")  # spreadsheet programs need the BOM to read UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


def test_street_staff_download_a_masked_csv_of_a_grid(
    client: Client, users: Users, tree: Tree, street: Street,
) -> None:
    # given
    client.force_login(users.street)
    # when
    response = client.get(reverse("web:grid-persons-csv", args=[tree.grid_a1.pk]))
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "persons-330102001001001.csv" in response["Content-Disposition"]
    header, *rows = _rows(response.content)
    assert header[:5] == ["姓名", "性别", "出生日期", "身份证号", "电话"]
    assert sorted(row[0] for row in rows) == sorted(["王小明", "李芳"])
    assert "138****5678" in response.content.decode()
    assert street.elder_phone not in response.content.decode()
    assert street.elder_id_number not in response.content.decode()
    assert AuditEntry.objects.filter(action="registry.export", actor_id=users.street.pk).count() == 1


def test_grid_page_offers_the_export_only_to_exporters(
    client: Client, users: Users, tree: Tree, street: Street,
) -> None:
    url = reverse("web:grid", args=[tree.grid_a1.pk])
    # when
    client.force_login(users.street)
    as_street = client.get(url).content.decode()
    client.force_login(users.grid_worker_a1)
    as_worker = client.get(url).content.decode()
    # then
    assert 'data-testid="grid-export"' in as_street
    assert 'data-testid="grid-export"' not in as_worker


def test_grid_worker_gets_403_for_any_grid_and_nothing_is_audited(
    client: Client, users: Users, tree: Tree, street: Street,
) -> None:
    # given a grid worker, who may read their grid but not export it
    client.force_login(users.grid_worker_a1)
    # when
    own = client.get(reverse("web:grid-persons-csv", args=[tree.grid_a1.pk]))
    unknown = client.get(reverse("web:grid-persons-csv", args=[999_999]))
    # then
    assert (own.status_code, unknown.status_code) == (403, 403)
    assert not AuditEntry.objects.filter(action="registry.export").exists()


def test_exporter_of_another_community_gets_404(
    client: Client, tree: Tree, street: Street,
) -> None:
    # given street-level staff bound to community b only
    client.force_login(make_user("street_b", Role.STREET_STAFF,
                                 (tree.community_b, AssignmentKind.MEMBER)))
    # when
    other = client.get(reverse("web:grid-persons-csv", args=[tree.grid_a1.pk]))
    own = client.get(reverse("web:grid-persons-csv", args=[tree.grid_b1.pk]))
    # then
    assert other.status_code == 404
    assert [row[0] for row in _rows(own.content)[1:]] == ["王小红"]


def test_a_name_that_looks_like_a_formula_is_defused(
    client: Client, users: Users, tree: Tree, street: Street,
) -> None:
    # given a resident whose recorded name starts with "=" (typed in by mistake or malice)
    street.spouse_a.name = "=HYPERLINK(1)"
    street.spouse_a.save(update_fields=["name"])
    client.force_login(users.street)
    # when
    response = client.get(reverse("web:grid-persons-csv", args=[tree.grid_a1.pk]))
    # then the cell is text, not a formula
    names = [row[0] for row in _rows(response.content)[1:]]
    assert "'=HYPERLINK(1)" in names
