"""Export of a grid's persons: permission, scope, masking and the audit entry."""

from __future__ import annotations

import pytest

from conftest import make_user
from linli.accounts.choices import AssignmentKind, Role
from linli.core.errors import NotFound, PermissionDenied
from linli.core.models import AuditEntry
from linli.registry import services

pytestmark = pytest.mark.django_db


def test_street_staff_export_their_grid_masked_and_the_export_is_audited(registry, users, tree):
    # when
    export = services.person_export(actor=users.street, grid_id=tree.grid_a1.pk, request_id="r-1")
    # then every person of grid a1 and nobody else, with masked identifiers only
    assert sorted(row[0] for row in export.rows) == sorted(["李强", "王晓红", "王小明"])
    wang = next(row for row in export.rows if row[0] == "王小明")
    assert "1101**********002X" in wang
    assert "138****5678" in wang
    assert "望江路100号江景苑3幢 1-101" in wang
    flat = "".join("".join(row) for row in export.rows)
    assert "11010519491231002X" not in flat
    assert "13812345678" not in flat
    # and one audit entry names the columns and count, never a value
    entry = AuditEntry.objects.get(action="registry.export")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (
        users.street.pk, "geo.area", str(tree.grid_a1.pk))
    assert "id_number" in entry.fields
    assert entry.reason == "rows=3"
    assert entry.request_id == "r-1"


def test_user_without_export_permission_is_refused_and_nothing_is_audited(registry, users, tree):
    # given community staff, who may read but not export the registry
    # when / then
    with pytest.raises(PermissionDenied):
        services.person_export(actor=users.community_a, grid_id=tree.grid_a1.pk)
    assert not AuditEntry.objects.filter(action="registry.export").exists()


def test_missing_permission_does_not_tell_an_unknown_grid_from_a_known_one(registry, users, tree):
    # given a grid worker (no export permission)
    # when / then a real grid and an unknown id give the same refusal
    for grid_id in (tree.grid_a1.pk, 999_999):
        with pytest.raises(PermissionDenied):
            services.person_export(actor=users.grid_worker_a1, grid_id=grid_id)


def test_exporter_of_another_community_gets_not_found_like_an_unknown_grid(registry, tree):
    # given street-level staff bound to community b only
    exporter = make_user("street_b", Role.STREET_STAFF, (tree.community_b, AssignmentKind.MEMBER))
    # when / then grid a1 looks exactly like a grid that does not exist
    for grid_id in (tree.grid_a1.pk, 999_999):
        with pytest.raises(NotFound):
            services.person_export(actor=exporter, grid_id=grid_id)
    # and their own grid exports only its own person
    own = services.person_export(actor=exporter, grid_id=tree.grid_b1.pk)
    assert [row[0] for row in own.rows] == ["王芳"]
    assert AuditEntry.objects.filter(action="registry.export").count() == 1


def test_a_community_is_not_exportable_as_a_grid(registry, users, tree):
    # when / then
    with pytest.raises(NotFound):
        services.person_export(actor=users.street, grid_id=tree.community_a.pk)
