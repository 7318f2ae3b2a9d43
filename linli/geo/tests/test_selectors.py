"""Reading the area tree and the cached grid locator."""

from __future__ import annotations

import pytest

from conftest import Tree, square
from linli.core.actors import SystemActor
from linli.geo.choices import AreaLevel
from linli.geo.locator import Location, LocationStatus
from linli.geo.selectors import area_ancestors, area_descendants, grid_locator, grid_locator_reset
from linli.geo.services import area_create, area_update_boundary

ACTOR = SystemActor("test:geo")


@pytest.fixture(autouse=True)
def _fresh_locator():
    grid_locator_reset()
    yield
    grid_locator_reset()


def test_descendants_of_a_community_are_its_grids_only(tree: Tree):
    # when
    found = set(area_descendants(area=tree.community_a))
    # then
    assert found == {tree.grid_a1, tree.grid_a2}


def test_descendants_of_the_district_are_the_whole_tree_below_it(tree: Tree):
    # when
    found = set(area_descendants(area=tree.district))
    # then
    assert tree.district not in found
    assert {tree.street, tree.community_a, tree.community_b, tree.grid_b1} <= found
    assert len(found) == 6


def test_ancestors_are_listed_from_the_root_down(tree: Tree):
    # when / then
    assert area_ancestors(area=tree.grid_b1) == [tree.district, tree.street, tree.community_b]
    assert area_ancestors(area=tree.district) == []


def test_the_locator_finds_fixture_grids_and_the_shared_edge(tree: Tree):
    # when
    locator = grid_locator()
    # then: grid_a1 and grid_b1 share the edge lat=30.21; a1 has the smaller code
    assert locator.locate(120.205, 30.205) == Location(tree.grid_a1.pk, LocationStatus.INSIDE)
    assert locator.locate(120.205, 30.21) == Location(tree.grid_a1.pk, LocationStatus.BOUNDARY)
    assert locator.locate(120.20, 30.215) == Location(tree.grid_b1.pk, LocationStatus.BOUNDARY)
    assert locator.locate(120.5, 30.5).status is LocationStatus.OUTSIDE


def test_the_locator_is_reused_until_a_grid_changes(tree: Tree):
    # given
    first = grid_locator()
    # when
    again = grid_locator()
    new_grid = area_create(actor=ACTOR, level=AreaLevel.GRID, code="330102001002002", name="新网格",
                           parent=tree.community_b, boundary=square(120.21, 30.21))
    after_create = grid_locator()
    area_update_boundary(actor=ACTOR, area=tree.grid_b1, boundary=square(120.40, 30.40))
    after_move = grid_locator()
    # then
    assert again is first
    assert after_create is not first
    assert after_create.locate(120.215, 30.215).grid_id == new_grid.pk
    assert after_move.locate(120.405, 30.405).grid_id == tree.grid_b1.pk
    assert after_move.locate(120.205, 30.215).status is LocationStatus.OUTSIDE


def test_the_locator_notices_a_deleted_grid(tree: Tree):
    # given
    assert grid_locator().locate(120.215, 30.205).grid_id == tree.grid_a2.pk
    # when
    tree.grid_a2.delete()
    # then
    assert grid_locator().locate(120.215, 30.205).status is LocationStatus.OUTSIDE
