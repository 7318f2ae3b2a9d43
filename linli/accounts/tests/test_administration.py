"""The administrator's writes on accounts, departments and the area tree, as services: who
may call them, within which areas, and what they refuse."""

from __future__ import annotations

import pytest

from conftest import Tree, Users, make_user
from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import Department, User
from linli.accounts.services import (
    area_admin_create,
    area_admin_move,
    assignment_create,
    department_create,
    user_create,
    user_set_active,
    user_update,
)
from linli.core.actors import SystemActor
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEntry
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.geo.services import area_create

SEED = SystemActor("test:seed")
PASSWORD = "Wangjiang-new-2026"


@pytest.fixture
def other_district(db: None) -> Area:
    return area_create(actor=SEED, level=AreaLevel.DISTRICT, code="330105", name="拱墅区", parent=None)


@pytest.mark.parametrize("who", ["street", "community_a", "grid_worker_a1", "auditor"])
def test_only_those_who_manage_accounts_may_create_one(who: str, users: Users, tree: Tree) -> None:
    with pytest.raises(PermissionDenied):
        user_create(actor=getattr(users, who), username="x", password=PASSWORD, role=Role.COMMUNITY_STAFF,
                    areas=[(tree.community_a, AssignmentKind.MEMBER)])
    with pytest.raises(PermissionDenied):
        department_create(actor=getattr(users, who), code="x", name="某部门")
    assert not User.objects.filter(username="x").exists()


def test_a_district_admin_binds_accounts_only_inside_his_district(users: Users, other_district: Area) -> None:
    with pytest.raises(NotFound):
        user_create(actor=users.district_admin, username="x", password=PASSWORD, role=Role.DISTRICT_ADMIN,
                    areas=[(other_district, AssignmentKind.MEMBER)])
    stranger = make_user("gs", Role.DISTRICT_ADMIN, (other_district, AssignmentKind.MEMBER))
    with pytest.raises(NotFound):
        user_set_active(actor=users.district_admin, user=stranger, active=False)
    with pytest.raises(NotFound):
        area_admin_create(actor=users.district_admin, parent=other_district, level=AreaLevel.STREET,
                          code="330105001", name="米市巷街道")


def test_a_district_admin_creates_no_superuser_and_cannot_touch_one(users: Users) -> None:
    with pytest.raises(PermissionDenied):
        user_create(actor=users.district_admin, username="root2", password=PASSWORD, role=Role.DISTRICT_ADMIN,
                    is_superuser=True)
    root = User.objects.create_superuser(username="root", password=PASSWORD)
    with pytest.raises(NotFound):
        user_update(actor=users.district_admin, user=root, display_name="x", role=Role.AUDITOR, department=None)


def test_nobody_changes_his_own_role(users: Users) -> None:
    with pytest.raises(ValidationFailed) as refused:
        user_update(actor=users.district_admin, user=users.district_admin, display_name="x",
                    role=Role.AUDITOR, department=None)
    assert refused.value.field == "role"


def test_department_staff_need_an_active_department_and_others_none(users: Users, tree: Tree) -> None:
    # given
    closed = Department.objects.create(code="old", name="旧部门", active=False)
    kwargs = {"actor": users.district_admin, "password": PASSWORD,
              "areas": [(tree.street, AssignmentKind.MEMBER)]}
    # when / then
    for username, role, department, message in [
        ("d1", Role.DEPARTMENT_STAFF, None, "须选择所属部门"),
        ("d2", Role.DEPARTMENT_STAFF, closed, "已停用"),
        ("s1", Role.STREET_STAFF, closed, "只有职能部门人员"),
    ]:
        with pytest.raises(ValidationFailed, match=message) as refused:
            user_create(username=username, role=role, department=department, **kwargs)  # type: ignore[arg-type]
        assert refused.value.field == "department"


@pytest.mark.parametrize(("role", "level", "kind", "field"), [
    (Role.GRID_WORKER, "community_a", AssignmentKind.PRIMARY, "area"),
    (Role.GRID_WORKER, "grid_a2", AssignmentKind.MEMBER, "kind"),
    (Role.STREET_STAFF, "community_a", AssignmentKind.MEMBER, "area"),
    (Role.AUDITOR, "street", AssignmentKind.MEMBER, "area"),
    (Role.COMMUNITY_STAFF, "community_b", AssignmentKind.BACKUP, "kind"),
])
def test_bindings_follow_the_role_table(
    users: Users, tree: Tree, role: Role, level: str, kind: AssignmentKind, field: str,
) -> None:
    user = make_user("someone", role)
    with pytest.raises(ValidationFailed) as refused:
        assignment_create(actor=users.district_admin, user=user, area=getattr(tree, level), kind=kind)
    assert refused.value.field == field


def test_the_top_of_the_admins_scope_does_not_move(users: Users, tree: Tree, other_district: Area) -> None:
    with pytest.raises(NotFound):
        area_admin_move(actor=users.district_admin, area=tree.street, parent=other_district, code="330105001")
    with pytest.raises(PermissionDenied):
        area_admin_move(actor=users.district_admin, area=tree.district, parent=tree.district, code="330102")
    assert not AuditEntry.objects.filter(action="area.move").exists()
