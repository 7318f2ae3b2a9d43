"""Writing the area tree: validation before any write, path and centroid, audit."""

from __future__ import annotations

import pytest

from conftest import Tree, square
from linli.core.actors import SystemActor
from linli.core.errors import ValidationFailed
from linli.core.models import AuditEntry
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.geo.services import area_create, area_move, area_update, area_update_boundary

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


def test_renaming_and_redrawing_an_area_writes_only_what_changed(tree: Tree):
    # when the name stays and the boundary moves
    area_update(actor=ACTOR, area=tree.grid_a1, name=tree.grid_a1.name, boundary=square(120.20, 30.20, 0.005))
    # then
    tree.grid_a1.refresh_from_db()
    assert tree.grid_a1.centroid_lon == pytest.approx(120.2025)
    assert AuditEntry.objects.get(action="area.update").fields == ["boundary", "centroid_lat", "centroid_lon"]
    # when nothing changes
    area_update(actor=ACTOR, area=tree.grid_a1, name=tree.grid_a1.name, boundary=tree.grid_a1.boundary)
    # then nothing is written
    assert AuditEntry.objects.filter(action="area.update").count() == 1


def test_moving_a_grid_to_another_community_renumbers_it_and_moves_its_path(tree: Tree):
    # when grid a2 of 近江 moves to 婺江 as its 2nd grid
    moved = area_move(actor=ACTOR, area=tree.grid_a2, parent=tree.community_b, code="330102001002002")
    # then
    moved.refresh_from_db()
    assert (moved.parent_id, moved.code, moved.path) == (
        tree.community_b.pk, "330102001002002", f"{tree.community_b.path}{moved.pk}/")
    assert AuditEntry.objects.get(action="area.move", target_id=str(moved.pk)).fields == ["code", "parent", "path"]


def test_moving_a_community_carries_its_whole_subtree_and_their_codes(tree: Tree):
    # given a second street and a zone with a grid under 近江
    street2 = area_create(actor=ACTOR, level=AreaLevel.STREET, code="330102002", name="清波街道", parent=tree.district)
    zone = area_create(actor=ACTOR, level=AreaLevel.ZONE, code="330102001001901", name="北片", parent=tree.community_a)
    zone_grid = area_create(actor=ACTOR, level=AreaLevel.GRID, code="330102001001009", name="北片网格", parent=zone)
    # when 近江 moves to 清波街道
    area_move(actor=ACTOR, area=tree.community_a, parent=street2, code="330102002001")
    # then every area below follows, path and code
    codes = dict(Area.objects.filter(path__startswith=street2.path).values_list("name", "code"))
    assert codes == {"清波街道": "330102002", "近江社区": "330102002001", "近江社区第1网格": "330102002001001",
                     "近江社区第2网格": "330102002001002", "北片": "330102002001901", "北片网格": "330102002001009"}
    zone_grid.refresh_from_db()
    assert zone_grid.path.startswith(f"{street2.path}{tree.community_a.pk}/{zone.pk}/")
    assert AuditEntry.objects.filter(action="area.move").count() == 5


@pytest.mark.parametrize(("target", "code", "field"), [
    ("grid_a2", "330102001001003", "parent"),        # a grid under a grid
    ("community_b", "330102001001003", "code"),       # a code of the old community
    ("community_b", "330102001002001", "code"),       # the code of 婺江's grid 1
])
def test_a_move_that_breaks_the_tree_is_refused_and_nothing_moves(tree: Tree, target: str, code: str, field: str):
    # when
    with pytest.raises(ValidationFailed) as refused:
        area_move(actor=ACTOR, area=tree.grid_a1, parent=getattr(tree, target), code=code)
    # then
    assert refused.value.field == field
    tree.grid_a1.refresh_from_db()
    assert (tree.grid_a1.code, tree.grid_a1.parent_id) == ("330102001001001", tree.community_a.pk)


def test_an_area_cannot_move_under_its_own_descendant(tree: Tree):
    with pytest.raises(ValidationFailed) as refused:
        area_move(actor=ACTOR, area=tree.street, parent=tree.community_a, code="330102001001001")
    assert refused.value.field == "parent"
