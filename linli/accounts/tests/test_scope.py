"""scope_for: what each principal may see. Empty scope means nothing, never everything."""

from __future__ import annotations

import pytest

from conftest import make_user
from linli.accounts.choices import AssignmentKind, Permission, Role
from linli.accounts.models import AreaAssignment
from linli.accounts.selectors import scope_for
from linli.accounts.workflow import ROLE_PERMISSIONS, role_grants_django_perm


@pytest.mark.django_db
def test_grid_worker_sees_only_their_grid(users, tree):
    scope = scope_for(users.grid_worker_a1)
    assert scope.grid_ids == {tree.grid_a1.pk}
    assert scope.area_ids == {tree.grid_a1.pk}
    assert scope.can(Permission.VIEW_REGISTRY)


@pytest.mark.django_db
def test_grid_worker_also_sees_the_grid_they_back_up(users, tree):
    # given the a1 worker is B角 of grid a2
    AreaAssignment.objects.create(user=users.grid_worker_a1, area=tree.grid_a2, kind=AssignmentKind.BACKUP)
    # when / then
    assert scope_for(users.grid_worker_a1).grid_ids == {tree.grid_a1.pk, tree.grid_a2.pk}


@pytest.mark.django_db
def test_community_staff_see_their_community_grids_only(users, tree):
    scope = scope_for(users.community_a)
    assert scope.grid_ids == {tree.grid_a1.pk, tree.grid_a2.pk}
    assert tree.grid_b1.pk not in scope.area_ids
    assert tree.street.pk not in scope.area_ids


@pytest.mark.django_db
def test_street_staff_see_every_grid_of_the_street(users, tree):
    assert scope_for(users.street).grid_ids == {tree.grid_a1.pk, tree.grid_a2.pk, tree.grid_b1.pk}


@pytest.mark.django_db
def test_auditor_cannot_view_the_registry(users):
    scope = scope_for(users.auditor)
    assert not scope.can(Permission.VIEW_REGISTRY)
    assert scope.permissions == {Permission.VIEW_AUDIT}


@pytest.mark.django_db
def test_inactive_user_has_an_empty_scope(users):
    users.street.is_active = False
    users.street.save()
    scope = scope_for(users.street)
    assert scope.area_ids == frozenset()
    assert scope.grid_ids == frozenset()
    assert scope.permissions == frozenset()


@pytest.mark.django_db
def test_user_without_areas_sees_nothing(tree):
    lonely = make_user("lonely", Role.STREET_STAFF)
    scope = scope_for(lonely)
    assert scope.area_ids == frozenset()
    assert scope.grid_ids == frozenset()


@pytest.mark.django_db
def test_anonymous_principal_has_an_empty_scope():
    from django.contrib.auth.models import AnonymousUser

    assert scope_for(None).area_ids == frozenset()
    assert scope_for(AnonymousUser()).permissions == frozenset()  # type: ignore[arg-type]


@pytest.mark.django_db
def test_sibling_area_with_a_longer_id_prefix_is_not_in_scope(users, tree):
    # given an area whose path starts with the same digits but is not a descendant
    from linli.geo.choices import AreaLevel
    from linli.geo.models import Area

    impostor = Area.objects.create(level=AreaLevel.GRID, code="999", name="x", path=tree.grid_a1.path.rstrip("/") + "0/")
    # when / then
    assert impostor.pk not in scope_for(users.grid_worker_a1).area_ids


def test_only_the_admin_role_manages_accounts_and_areas():
    managers = {role for role, perms in ROLE_PERMISSIONS.items() if Permission.MANAGE_ACCOUNTS in perms}
    assert managers == {Role.DISTRICT_ADMIN}
    assert role_grants_django_perm(Role.DISTRICT_ADMIN, "geo.change_area")
    assert role_grants_django_perm(Role.DISTRICT_ADMIN, "accounts.add_user")
    assert not role_grants_django_perm(Role.DISTRICT_ADMIN, "core.view_auditentry")
    assert not role_grants_django_perm(Role.DISTRICT_ADMIN, "core.delete_auditentry")
    assert not role_grants_django_perm(Role.STREET_STAFF, "accounts.view_user")
    assert role_grants_django_perm(Role.AUDITOR, "core.view_auditentry")
    assert not role_grants_django_perm(Role.AUDITOR, "core.change_auditentry")


@pytest.mark.django_db
def test_a_cached_scope_follows_every_change_of_assignments_and_areas(users, tree, django_assert_num_queries):
    from linli.geo.models import Area

    # given the grid worker's scope, read once
    assert scope_for(users.grid_worker_a1).grid_ids == {tree.grid_a1.pk}
    # then reading it again costs one primary-key read (the stamp), not the areas
    with django_assert_num_queries(1):
        assert scope_for(users.grid_worker_a1).grid_ids == {tree.grid_a1.pk}
    # when the assignment moves by a bulk update (no signal, no updated_at)
    AreaAssignment.objects.filter(user=users.grid_worker_a1).update(area=tree.grid_b1, kind=AssignmentKind.BACKUP)
    # then
    assert scope_for(users.grid_worker_a1).grid_ids == {tree.grid_b1.pk}
    # and when a new grid is added under the street staff's street
    street_scope = scope_for(users.street)
    extra = Area.objects.create(level=5, code="extra", name="新网格", parent=tree.community_b,
                                path=f"{tree.community_b.path}new/")
    Area.objects.filter(pk=extra.pk).update(path=f"{tree.community_b.path}{extra.pk}/")
    assert scope_for(users.street).grid_ids == street_scope.grid_ids | {extra.pk}
    # and a deactivated user sees nothing at once (checked on the user, not cached)
    users.street.is_active = False
    assert scope_for(users.street).grid_ids == frozenset()
