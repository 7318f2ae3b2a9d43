"""The district administrator's pages (#16.6, #24.2): accounts, departments, the area tree,
dispatch rules, categories with their deadlines, the halls' service windows. Scoped, audited;
nobody else may use them (street staff read their street's windows)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conftest import Tree, Users, make_user, square
from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment, Department, LoginThrottle, User
from linli.cases.models import Category, DispatchRule
from linli.cases.taxonomy import taxonomy_load
from linli.catalogue.models import ServiceWindow
from linli.catalogue.services import window_create
from linli.core.actors import SystemActor
from linli.core.models import AuditEntry
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.geo.services import area_create

SEED = SystemActor("test:seed")
PASSWORD = "Wangjiang-new-2026"
HOURS = {"1": [["08:30", "11:30"]]}


@pytest.fixture
def reference(db: None) -> None:
    """The seeded departments, categories and rules (a flushed database lost them)."""
    if not Category.objects.filter(code="0101").exists():
        taxonomy_load(Department, Category, DispatchRule)


@pytest.fixture
def admin(client: Client, users: Users, reference: None) -> Client:
    client.force_login(users.district_admin)
    return client


@pytest.fixture
def window(tree: Tree) -> ServiceWindow:
    return window_create(actor=SEED, code="W-JJ", name="近江社区综合窗口", community=tree.community_a,
                         opening_hours=HOURS)


def audited(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action))


def manage_urls(tree: Tree, users: Users, window: ServiceWindow) -> list[str]:
    rule = DispatchRule.objects.order_by("pk").first()
    category = Category.objects.order_by("pk").first()
    assert rule is not None
    assert category is not None
    department = Department.objects.get(code="huanwei")
    return [
        reverse("web:manage-accounts"), reverse("web:manage-account-new"),
        reverse("web:manage-account", args=[users.grid_worker_a1.pk]),
        reverse("web:manage-departments"), reverse("web:manage-department", args=[department.pk]),
        reverse("web:manage-areas"), reverse("web:manage-area", args=[tree.grid_a1.pk]),
        reverse("web:manage-areas-load"),
        reverse("web:manage-rules"), reverse("web:manage-rule-new"), reverse("web:manage-rule", args=[rule.pk]),
        reverse("web:manage-categories"), reverse("web:manage-category-new"),
        reverse("web:manage-category", args=[category.pk]),
        reverse("web:manage-window-new"), reverse("web:manage-window", args=[window.pk]),
    ]


# --- who may use them ----------------------------------------------------------------------


def test_the_district_admin_opens_every_administration_page(
    admin: Client, tree: Tree, users: Users, window: ServiceWindow,
) -> None:
    # given / when / then
    for url in [reverse("web:manage"), reverse("web:manage-windows"), *manage_urls(tree, users, window)]:
        assert admin.get(url).status_code == 200, url
    assert 'data-testid="nav-manage"' in admin.get(reverse("web:home")).content.decode()


@pytest.mark.parametrize("who", ["street", "community_a", "grid_worker_a1", "auditor"])
def test_nobody_but_the_district_admin_may_use_them(
    who: str, client: Client, users: Users, tree: Tree, window: ServiceWindow, reference: None,
) -> None:
    # given
    client.force_login(getattr(users, who))
    before = AuditEntry.objects.count()
    # when / then every page and every write is refused
    for url in manage_urls(tree, users, window):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"form": "edit", "name": "x", "display_name": "x", "role": "street_staff",
                                 "code": "x1", "kind": "agency"}).status_code == 403, url
    assert AuditEntry.objects.count() == before


def test_street_staff_read_their_streets_windows_and_nothing_else(
    client: Client, users: Users, tree: Tree, window: ServiceWindow,
) -> None:
    # given a window of another district's hall
    other = area_create(actor=SEED, level=AreaLevel.DISTRICT, code="330105", name="拱墅区", parent=None)
    hall = area_create(actor=SEED, level=AreaLevel.STREET, code="330105001", name="米市巷街道", parent=other)
    window_create(actor=SEED, code="W-MS", name="米市巷街道窗口", community=hall, opening_hours=HOURS)
    client.force_login(users.street)
    # when
    page = client.get(reverse("web:manage-windows"))
    index = client.get(reverse("web:manage"))
    # then
    assert page.status_code == 200
    assert [w.code for w in page.context["windows"]] == ["W-JJ"]
    assert 'data-testid="window-new"' not in page.content.decode()
    assert 'data-testid="manage-accounts"' not in index.content.decode()
    # and the grid worker does not even see the windows list
    client.force_login(users.grid_worker_a1)
    assert client.get(reverse("web:manage-windows")).status_code == 403


def test_an_account_of_another_district_is_not_found(admin: Client, tree: Tree) -> None:
    # given a user of another district
    other = area_create(actor=SEED, level=AreaLevel.DISTRICT, code="330105", name="拱墅区", parent=None)
    stranger = make_user("gs_admin", Role.DISTRICT_ADMIN, (other, AssignmentKind.MEMBER))
    # when / then
    assert admin.get(reverse("web:manage-account", args=[stranger.pk])).status_code == 404
    assert admin.post(reverse("web:manage-account", args=[stranger.pk]),
                      {"form": "deactivate"}).status_code == 404
    assert "gs_admin" not in admin.get(reverse("web:manage-accounts")).content.decode()
    assert admin.get(reverse("web:manage-area", args=[other.pk])).status_code == 404
    stranger.refresh_from_db()
    assert stranger.is_active


# --- accounts ------------------------------------------------------------------------------


def test_the_admin_creates_a_grid_worker_as_primary_of_a_grid(admin: Client, tree: Tree) -> None:
    # when
    response = admin.post(reverse("web:manage-account-new"), {
        "username": "gw_new", "display_name": "王网格", "role": Role.GRID_WORKER, "area": tree.grid_a2.pk,
        "kind": AssignmentKind.BACKUP, "password1": PASSWORD, "password2": PASSWORD,
    })
    # then
    user = User.objects.get(username="gw_new")
    assert response.status_code == 302
    assert response["Location"] == reverse("web:manage-account", args=[user.pk])
    assert user.check_password(PASSWORD)
    assert list(AreaAssignment.objects.filter(user=user).values_list("area_id", "kind")) == [
        (tree.grid_a2.pk, AssignmentKind.BACKUP)]
    assert [e.actor_label for e in audited("user.create")] == ["admin"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"role": Role.GRID_WORKER, "kind": AssignmentKind.MEMBER, "area": "grid"}, "kind"),  # A角 or B角
    ({"role": Role.COMMUNITY_STAFF, "kind": AssignmentKind.MEMBER, "area": "grid"}, "area"),  # not a grid
    ({"role": Role.DEPARTMENT_STAFF, "area": "street"}, "department"),              # needs a department
    ({"password2": "Other-pass-2026"}, "password2"),
    ({"password1": "short", "password2": "short"}, "password"),
    ({"username": "ADMIN"}, "username"),
])
def test_a_refused_account_is_explained_beside_its_field_and_not_created(
    admin: Client, tree: Tree, changes: dict[str, Any], field: str,
) -> None:
    # given
    areas = {"grid": tree.grid_a1.pk, "street": tree.street.pk, "community": tree.community_a.pk}
    data = {"username": "new_user", "display_name": "新人", "role": Role.COMMUNITY_STAFF,
            "area": tree.community_a.pk, "kind": AssignmentKind.MEMBER, "password1": PASSWORD, "password2": PASSWORD}
    data.update({k: areas.get(v, v) if k == "area" else v for k, v in changes.items()})
    before = User.objects.count()
    # when
    response = admin.post(reverse("web:manage-account-new"), data)
    # then
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors or (field == "password" and "__all__" in errors), errors
    assert User.objects.count() == before
    assert not audited("user.create")


def test_the_admin_changes_a_role_and_department(admin: Client, users: Users, tree: Tree) -> None:
    # given a street staff member who moves to 民政办
    target = users.street
    minzheng = Department.objects.get(code="minzheng")
    # when
    response = admin.post(reverse("web:manage-account", args=[target.pk]), {
        "form": "edit", "display_name": "李民政", "role": Role.DEPARTMENT_STAFF, "department": minzheng.pk})
    # then
    target.refresh_from_db()
    assert response.status_code == 302
    assert (target.role, target.department_id, target.display_name) == (Role.DEPARTMENT_STAFF, minzheng.pk, "李民政")
    assert sorted(audited("user.update")[0].fields) == ["department", "display_name", "role"]


def test_a_role_that_does_not_fit_the_accounts_areas_is_refused(admin: Client, users: Users) -> None:
    # when the grid worker (A角 of grid a1) is made street staff
    response = admin.post(reverse("web:manage-account", args=[users.grid_worker_a1.pk]), {
        "form": "edit", "display_name": "x", "role": Role.STREET_STAFF})
    # then
    assert response.status_code == 200
    assert "请先调整区域" in response.context["edit"].errors["role"][0]
    users.grid_worker_a1.refresh_from_db()
    assert users.grid_worker_a1.role == Role.GRID_WORKER


def test_the_admin_deactivates_and_reactivates_an_account_but_not_his_own(admin: Client, users: Users) -> None:
    # when
    admin.post(reverse("web:manage-account", args=[users.grid_worker_b1.pk]), {"form": "deactivate"})
    # then
    users.grid_worker_b1.refresh_from_db()
    assert not users.grid_worker_b1.is_active
    assert Client().login(username="gw_b1", password="Linli-test-2026") is False
    # when reactivated
    admin.post(reverse("web:manage-account", args=[users.grid_worker_b1.pk]), {"form": "activate"})
    assert User.objects.get(pk=users.grid_worker_b1.pk).is_active
    # and the admin cannot lock himself out
    response = admin.post(reverse("web:manage-account", args=[users.district_admin.pk]), {"form": "deactivate"},
                          follow=True)
    users.district_admin.refresh_from_db()
    assert users.district_admin.is_active
    assert "不能停用自己的账号" in response.content.decode()
    assert [e.action for e in AuditEntry.objects.filter(action__startswith="user.").order_by("seq")] == [
        "user.deactivate", "user.activate"]


def test_a_reset_password_works_at_once_and_lifts_a_login_lock(admin: Client, users: Users) -> None:
    # given the grid worker locked himself out
    LoginThrottle.objects.create(key="user:gw_a1", failures=5, window_started_at="2026-01-01T00:00Z",
                                 locked_until="2999-01-01T00:00Z")
    # when
    response = admin.post(reverse("web:manage-account", args=[users.grid_worker_a1.pk]), {
        "form": "password", "password1": PASSWORD, "password2": PASSWORD})
    # then
    assert response.status_code == 302
    users.grid_worker_a1.refresh_from_db()
    assert users.grid_worker_a1.check_password(PASSWORD)
    assert not LoginThrottle.objects.filter(key="user:gw_a1").exists()
    entry = audited("user.set_password")[0]
    assert entry.fields == ["password"]
    assert PASSWORD not in str(entry.fields) + entry.reason


def test_grid_workers_are_bound_as_a_and_b_and_one_a_per_grid(admin: Client, users: Users, tree: Tree) -> None:
    # given
    url = reverse("web:manage-account", args=[users.grid_worker_b1.pk])
    # when gw_b1 also becomes B角 of grid a1
    admin.post(url, {"form": "assign", "area": tree.grid_a1.pk, "kind": AssignmentKind.BACKUP})
    # then
    assert AreaAssignment.objects.filter(user=users.grid_worker_b1, area=tree.grid_a1, kind="backup").exists()
    # when he is made A角 of grid a1 too (gw_a1 is)
    response = admin.post(url, {"form": "assign", "area": tree.grid_a2.pk, "kind": AssignmentKind.PRIMARY})
    conflict = admin.post(reverse("web:manage-account", args=[make_user(
        "gw_x", Role.GRID_WORKER).pk]), {"form": "assign", "area": tree.grid_a1.pk, "kind": AssignmentKind.PRIMARY})
    # then the second primary of grid a1 is refused beside the area
    assert response.status_code == 302
    assert "主责网格员" in conflict.context["assign"].errors["area"][0]
    # when the backup binding is removed
    assignment = AreaAssignment.objects.get(user=users.grid_worker_b1, area=tree.grid_a1)
    admin.post(reverse("web:manage-assignment-remove", args=[users.grid_worker_b1.pk, assignment.pk]))
    assert not AreaAssignment.objects.filter(pk=assignment.pk).exists()
    assert audited("user.unassign_area")


# --- departments ---------------------------------------------------------------------------


def test_the_admin_adds_and_renames_a_department(admin: Client) -> None:
    # when
    admin.post(reverse("web:manage-departments"), {"code": "wenlv", "name": "文旅站", "kind": "agency",
                                                   "active": "on"})
    department = Department.objects.get(code="wenlv")
    admin.post(reverse("web:manage-department", args=[department.pk]),
               {"code": "ignored", "name": "文化旅游服务站", "kind": "agency"})
    # then the code stays, the name changes, and it is switched off
    department.refresh_from_db()
    assert (department.code, department.name, department.active) == ("wenlv", "文化旅游服务站", False)
    assert [e.action for e in AuditEntry.objects.filter(target_type="accounts.department").order_by("seq")] == [
        "department.create", "department.update"]


# --- areas ---------------------------------------------------------------------------------


def test_the_admin_adds_a_grid_with_its_polygon(admin: Client, tree: Tree) -> None:
    # when
    response = admin.post(reverse("web:manage-area", args=[tree.community_b.pk]), {
        "form": "child", "level": AreaLevel.GRID, "code": "330102001002002", "name": "婺江社区第2网格",
        "boundary": '{"type": "Polygon", "coordinates": [[[120.21, 30.21], [120.22, 30.21], [120.22, 30.22], '
                    '[120.21, 30.22], [120.21, 30.21]]]}'})
    # then
    grid = Area.objects.get(code="330102001002002")
    assert response["Location"] == reverse("web:manage-area", args=[grid.pk])
    assert grid.parent == tree.community_b
    assert grid.centroid_lat == pytest.approx(30.215)
    assert audited("area.create")


@pytest.mark.parametrize(("boundary", "message"), [
    ('{"type": "Polygon", "coordinates": [[[120.21, 30.21], [120.22, 30.21], [120.22, 30.22], [120.21, 30.22]]]}',
     "未闭合"),
    ('{"type": "Polygon", "coordinates": [[[2.29, 48.85], [2.3, 48.85], [2.3, 48.86], [2.29, 48.85]]]}', "超出中国范围"),
    ("not json", "不是有效的JSON"),
])
def test_a_bad_polygon_is_refused_beside_the_boundary(admin: Client, tree: Tree, boundary: str, message: str) -> None:
    # when
    response = admin.post(reverse("web:manage-area", args=[tree.grid_a1.pk]),
                          {"form": "edit", "name": tree.grid_a1.name, "boundary": boundary})
    # then
    assert response.status_code == 200
    assert message in response.context["edit"].errors["boundary"][0]
    tree.grid_a1.refresh_from_db()
    assert tree.grid_a1.boundary == square(120.20, 30.20)


def test_the_admin_moves_a_grid_to_the_other_community(admin: Client, tree: Tree) -> None:
    # when
    response = admin.post(reverse("web:manage-area", args=[tree.grid_a2.pk]), {
        "form": "move", "parent": tree.community_b.pk, "code": "330102001002002"})
    # then
    tree.grid_a2.refresh_from_db()
    assert response.status_code == 302
    assert (tree.grid_a2.parent_id, tree.grid_a2.code) == (tree.community_b.pk, "330102001002002")
    # and a code that does not fit the new parent is refused beside the code
    bad = admin.post(reverse("web:manage-area", args=[tree.grid_a1.pk]), {
        "form": "move", "parent": tree.community_b.pk, "code": "330102001001009"})
    assert "330102001002" in bad.context["move"].errors["code"][0]


def _area_csv(*lines: str) -> SimpleUploadedFile:
    body = "编码,名称,上级编码,层级\n" + "\n".join(lines) + "\n"
    return SimpleUploadedFile("areas.csv", body.encode("utf-8"), content_type="text/csv")


def test_the_admin_loads_an_area_file_previewed_first_then_applied(admin: Client, tree: Tree) -> None:
    # given a file with a new community and its grid under the admin's street, and a renamed grid
    upload = _area_csv("330102001003,钱江社区,330102001,社区", "330102001003001,钱江社区第1网格,330102001003,网格",
                       "330102001001001,近江社区一号网格,330102001001,网格")
    # when previewed
    preview = admin.post(reverse("web:manage-areas-load"), {"form": "preview", "file": upload})
    # then it says what would change and writes nothing
    page = preview.content.decode()
    assert preview.status_code == 200
    assert page.count('data-testid="area-file-created"') == 2
    assert page.count('data-testid="area-file-changed"') == 1
    assert not Area.objects.filter(code="330102001003").exists()
    tree.grid_a1.refresh_from_db()
    assert tree.grid_a1.name == "近江社区第1网格"
    # when applied with the preview's token
    token = preview.context["token"]
    assert token
    applied = admin.post(reverse("web:manage-areas-load"), {"form": "apply", "token": token})
    # then
    assert applied["Location"] == reverse("web:manage-areas")
    community = Area.objects.get(code="330102001003")
    assert community.parent == tree.street
    assert Area.objects.get(code="330102001003001").parent == community
    tree.grid_a1.refresh_from_db()
    assert tree.grid_a1.name == "近江社区一号网格"
    assert len(audited("area.create")) == 2
    # and the token is spent: a second apply does nothing
    again = admin.post(reverse("web:manage-areas-load"), {"form": "apply", "token": token})
    assert again["Location"] == reverse("web:manage-areas-load")
    assert Area.objects.filter(code__startswith="330102001003").count() == 2


def test_an_area_file_outside_the_admins_district_writes_nothing(admin: Client, tree: Tree) -> None:
    # given another district, and a file touching it, a new district and a good row
    area_create(actor=SEED, level=AreaLevel.DISTRICT, code="330105", name="拱墅区", parent=None)
    upload = _area_csv("330105001,米市巷街道,330105,街道", "330106,西湖区,,区",
                       "330102001003,钱江社区,330102001,社区")
    # when
    preview = admin.post(reverse("web:manage-areas-load"), {"form": "preview", "file": upload})
    # then each foreign row is named, there is no apply button, nothing is written
    page = preview.content.decode()
    assert "330105" in page
    assert "linli areas load" in page
    assert 'data-testid="area-file-apply"' not in page
    assert not preview.context["token"]
    assert not Area.objects.filter(code__in=["330105001", "330106", "330102001003"]).exists()
    # and a forged apply without a previewed token is refused
    refused = admin.post(reverse("web:manage-areas-load"), {"form": "apply", "token": "../../linli"})
    assert refused["Location"] == reverse("web:manage-areas-load")
    assert not Area.objects.filter(code="330102001003").exists()


def test_a_broken_area_file_is_explained_by_row(admin: Client, tree: Tree) -> None:
    # when a row has no name and another an unknown level
    upload = _area_csv("330102001003,,330102001,社区", "330102001004,新社区,330102001,小区")
    preview = admin.post(reverse("web:manage-areas-load"), {"form": "preview", "file": upload})
    # then
    problems = preview.content.decode()
    assert "缺少名称" in problems
    assert "未知的层级" in problems
    assert not Area.objects.filter(code__in=["330102001003", "330102001004"]).exists()


# --- dispatch rules and categories ---------------------------------------------------------


def test_the_admin_adds_a_rule_that_the_next_case_follows(admin: Client, users: Users, tree: Tree) -> None:
    # given 暴露垃圾 normally goes to 环卫所
    from linli.cases.services import case_open

    rubbish = Category.objects.get(code="0101")
    wuye = Department.objects.get(code="wuye")
    # when the admin sends it to 物业 in community a
    response = admin.post(reverse("web:manage-rule-new"), {
        "category": rubbish.pk, "area": tree.community_a.pk, "target": "department", "department": wuye.pk,
        "priority": 100, "approval_min_level": 6, "active": "on"})
    # then
    assert response.status_code == 302
    case, _ = case_open(actor=users.community_a, source="staff", category=rubbish, description="垃圾",
                        lon=120.205, lat=30.205)
    assert case.department_id == wuye.pk
    assert audited("dispatch_rule.create")


def test_a_department_rule_without_a_department_is_refused(admin: Client, tree: Tree) -> None:
    response = admin.post(reverse("web:manage-rule-new"), {
        "area": tree.community_a.pk, "target": "department", "priority": 100, "approval_min_level": 6,
        "active": "on"})
    assert response.context["form"].errors["department"] == ["请选择处置部门"]
    assert not audited("dispatch_rule.create")


def test_the_admin_shortens_a_categorys_handling_deadline(admin: Client) -> None:
    # given
    category = Category.objects.get(code="0101")
    data = {"name": category.name, "default_level": 2, "register_hours": 1, "dispatch_hours": 1,
            "handle_amount": 1, "handle_unit": "hours", "verify_hours": 2, "close_hours": 2,
            "department": category.department_id, "active": "on"}
    # when
    response = admin.post(reverse("web:manage-category", args=[category.pk]), data)
    # then
    category.refresh_from_db()
    assert response.status_code == 302
    assert (category.default_level, category.handle_amount, category.handle_unit) == (2, 1, "hours")
    assert set(audited("category.update")[0].fields) == {
        "default_level", "handle_amount", "verify_hours", "close_hours"}
    # and an absurd deadline is refused beside its field
    bad = admin.post(reverse("web:manage-category", args=[category.pk]), {**data, "handle_amount": 500})
    assert "处置时限须为1到200" in bad.context["form"].errors["handle_amount"][0]


def test_the_admin_adds_a_minor_category_under_a_major(admin: Client) -> None:
    # given
    major = Category.objects.get(code="01")
    # when
    admin.post(reverse("web:manage-category-new"), {
        "parent": major.pk, "code": "0199", "name": "共享单车堆放", "default_level": 4, "register_hours": 1,
        "dispatch_hours": 1, "handle_amount": 2, "handle_unit": "days", "verify_hours": 4, "close_hours": 4,
        "active": "on"})
    # then
    minor = Category.objects.get(code="0199")
    assert (minor.parent_id, minor.domain) == (major.pk, major.domain)


# --- service windows -----------------------------------------------------------------------


def test_the_admin_opens_a_window_with_its_hours(admin: Client, tree: Tree) -> None:
    # when
    response = admin.post(reverse("web:manage-window-new"), {
        "code": "W-WJ", "community": tree.community_b.pk, "name": "婺江社区综合窗口",
        "opening_hours": "1-5 08:30-11:30 13:30-17:00\n6 9:00-12:00", "slot_minutes": 30,
        "capacity_per_slot": 3, "active": "on"})
    # then
    window = ServiceWindow.objects.get(code="W-WJ")
    assert response.status_code == 302
    assert window.opening_hours["1"] == [["08:30", "11:30"], ["13:30", "17:00"]]
    assert window.opening_hours["6"] == [["09:00", "12:00"]]
    assert "7" not in window.opening_hours
    assert audited("catalogue.window.create")[0].actor_label == "admin"


def test_bad_opening_hours_are_refused_naming_the_line(admin: Client, window: ServiceWindow) -> None:
    # when
    response = admin.post(reverse("web:manage-window", args=[window.pk]), {
        "name": window.name, "opening_hours": "1-5 08:30-11:30\n6 9-12", "slot_minutes": 30,
        "capacity_per_slot": 2, "active": "on"})
    # then
    assert "第2行" in response.context["form"].errors["opening_hours"][0]
    window.refresh_from_db()
    assert window.opening_hours == HOURS


def test_the_admin_changes_a_windows_capacity_and_closes_it(admin: Client, window: ServiceWindow) -> None:
    # when
    admin.post(reverse("web:manage-window", args=[window.pk]), {
        "name": window.name, "opening_hours": "1 08:30-11:30", "slot_minutes": 30, "capacity_per_slot": 4})
    # then
    window.refresh_from_db()
    assert (window.capacity_per_slot, window.active) == (4, False)
    assert sorted(audited("catalogue.window.update")[0].fields) == ["active", "capacity_per_slot"]
