"""Writing the area tree: validation before any write, path and centroid, audit."""

from __future__ import annotations

import pytest

from conftest import Tree, square
from linli.core.actors import SystemActor
from linli.core.errors import ValidationFailed
from linli.core.models import AuditEntry
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.geo.services import area_create, area_update_boundary

ACTOR = SystemActor("test:geo")

OPEN_RING = {"type": "Polygon", "coordinates": [[[120.3, 30.3], [120.31, 30.3], [120.31, 30.31], [120.3, 30.31]]]}
BOW_TIE = {"type": "Polygon", "coordinates": [[[120.3, 30.3], [120.31, 30.31], [120.31, 30.3], [120.3, 30.31], [120.3, 30.3]]]}
PARIS = square(2.29, 48.85)


def test_creating_a_grid_sets_path_centroid_and_writes_an_audit_entry(tree: Tree):
    # when
    grid = area_create(
        actor=ACTOR, level=AreaLevel.GRID, code="330102001002002", name=" 婺江社区第2网格 ",
        parent=tree.community_b, boundary=square(120.21, 30.21),
    )
    # then
    grid.refresh_from_db()
    assert grid.path == f"{tree.community_b.path}{grid.pk}/"
    assert grid.name == "婺江社区第2网格"
    assert grid.centroid_lon == pytest.approx(120.215)
    assert grid.centroid_lat == pytest.approx(30.215)
    entry = AuditEntry.objects.get(action="area.create", target_id=str(grid.pk))
    assert entry.target_type == "geo.area"
    assert "boundary" in entry.fields
    assert "婺江" not in str(entry.fields)


@pytest.mark.django_db
def test_a_district_is_a_root_with_its_own_path():
    # when
    district = area_create(actor=ACTOR, level=AreaLevel.DISTRICT, code="330105", name="拱墅区", parent=None)
    # then
    assert district.path == f"/{district.pk}/"
    assert district.boundary is None
    assert district.centroid_lon is None


def test_a_grid_under_a_zone_takes_the_community_code(tree: Tree):
    # given
    zone = area_create(actor=ACTOR, level=AreaLevel.ZONE, code="330102001001901", name="北片", parent=tree.community_a)
    # when
    grid = area_create(actor=ACTOR, level=AreaLevel.GRID, code="330102001001005", name="北片网格", parent=zone)
    # then
    assert grid.path == f"{tree.community_a.path}{zone.pk}/{grid.pk}/"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "330102001002"}, "code"),
        ({"code": "330102001001002"}, "code"),  # belongs to the other community
        ({"code": "330102001002001"}, "code"),  # already used by 网格3
        ({"parent": "street"}, "parent"),
        ({"parent": None}, "parent"),
        ({"level": 7}, "level"),
        ({"name": "  "}, "name"),
        ({"boundary": OPEN_RING}, "boundary"),
        ({"boundary": BOW_TIE}, "boundary"),
        ({"boundary": PARIS}, "boundary"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(tree: Tree, changes, field):
    # given
    args = {"level": AreaLevel.GRID, "code": "330102001002002", "name": "新网格",
            "parent": tree.community_b, "boundary": square(120.21, 30.21)} | changes
    if args["parent"] == "street":
        args["parent"] = tree.street
    areas_before, audit_before = Area.objects.count(), AuditEntry.objects.count()
    # when
    with pytest.raises(ValidationFailed) as refused:
        area_create(actor=ACTOR, **args)
    # then
    assert refused.value.field == field
    assert Area.objects.count() == areas_before
    assert AuditEntry.objects.count() == audit_before


def test_updating_a_boundary_moves_the_centroid_and_is_audited(tree: Tree):
    # when
    area_update_boundary(actor=ACTOR, area=tree.grid_a1, boundary=square(120.30, 30.30, size=0.02))
    # then
    tree.grid_a1.refresh_from_db()
    assert tree.grid_a1.centroid_lon == pytest.approx(120.31)
    assert tree.grid_a1.boundary == square(120.30, 30.30, size=0.02)
    assert AuditEntry.objects.filter(action="area.update_boundary", target_id=str(tree.grid_a1.pk)).exists()


def test_a_bad_new_boundary_leaves_the_old_one_in_place(tree: Tree):
    # given
    before = tree.grid_a1.boundary
    # when
    with pytest.raises(ValidationFailed) as refused:
        area_update_boundary(actor=ACTOR, area=tree.grid_a1, boundary=BOW_TIE)
    # then
    assert refused.value.field == "boundary"
    tree.grid_a1.refresh_from_db()
    assert tree.grid_a1.boundary == before
