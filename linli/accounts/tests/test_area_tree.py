"""The area tree a user sees, and single areas fetched within scope."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import make_user
from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment
from linli.accounts.selectors import AreaNode, area_get_for_user, area_tree_for_user
from linli.core.errors import NotFound


def names(nodes: list[AreaNode]) -> list[Any]:
    return [(n.area.name, names(n.children)) for n in nodes]


@pytest.mark.django_db
def test_street_staff_tree_starts_at_the_street(users, tree):
    # when
    roots = area_tree_for_user(user=users.street)
    # then
    assert names(roots) == [("望江街道", [
        ("近江社区", [("近江社区第1网格", []), ("近江社区第2网格", [])]),
        ("婺江社区", [("婺江社区第1网格", [])]),
    ])]


@pytest.mark.django_db
def test_grid_worker_tree_holds_their_grids_with_worker_names(users, tree):
    # given the a1 worker also backs up grid a2, whose primary is another worker
    other = make_user("gw_a2", Role.GRID_WORKER, (tree.grid_a2, AssignmentKind.PRIMARY))
    AreaAssignment.objects.create(user=users.grid_worker_a1, area=tree.grid_a2, kind=AssignmentKind.BACKUP)
    # when
    roots = area_tree_for_user(user=users.grid_worker_a1)
    # then
    assert [n.area for n in roots] == [tree.grid_a1, tree.grid_a2]
    assert roots[0].grid_workers == ["gw_a1"]
    assert roots[1].grid_workers == [str(other), "gw_a1"]


@pytest.mark.django_db
def test_community_staff_tree_excludes_the_other_community(users, tree):
    roots = area_tree_for_user(user=users.community_b)
    assert names(roots) == [("婺江社区", [("婺江社区第1网格", [])])]


@pytest.mark.django_db
def test_auditor_and_inactive_users_get_no_tree(users):
    users.street.is_active = False
    users.street.save()
    assert area_tree_for_user(user=users.auditor) == []
    assert area_tree_for_user(user=users.street) == []


@pytest.mark.django_db
def test_tree_takes_a_fixed_number_of_queries(users):
    with CaptureQueriesContext(connection) as queries:
        area_tree_for_user(user=users.district_admin)
    assert len(queries) == 5  # the scope's stamp and, not yet cached, the scope's two reads
    with CaptureQueriesContext(connection) as queries:
        area_tree_for_user(user=users.district_admin)
    assert len(queries) == 3  # the scope now comes from the cache


@pytest.mark.django_db
def test_area_inside_scope_is_returned(users, tree):
    assert area_get_for_user(user=users.community_a, area_id=tree.grid_a2.pk) == tree.grid_a2


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["grid_b1", "street", "community_b"])
def test_area_outside_scope_is_not_found(users, tree, which):
    with pytest.raises(NotFound):
        area_get_for_user(user=users.community_a, area_id=getattr(tree, which).pk)


@pytest.mark.django_db
def test_unknown_area_and_out_of_scope_area_look_the_same(users, tree):
    with pytest.raises(NotFound) as unknown:
        area_get_for_user(user=users.grid_worker_a1, area_id=999_999)
    with pytest.raises(NotFound) as foreign:
        area_get_for_user(user=users.grid_worker_a1, area_id=tree.grid_b1.pk)
    assert unknown.value.as_dict() == foreign.value.as_dict()


@pytest.mark.django_db
def test_auditor_cannot_fetch_an_area(users, tree):
    with pytest.raises(NotFound):
        area_get_for_user(user=users.auditor, area_id=tree.district.pk)
