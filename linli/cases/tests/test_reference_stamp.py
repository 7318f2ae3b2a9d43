"""The per-process caches of intake and transitions (catalogue, dispatch rules, grids, grid
workers, departments) follow every write to what they hold — also bulk updates, which the
ORM's signals and ``updated_at`` do not see — and not a resident's login."""

from __future__ import annotations

from django.contrib.auth.models import update_last_login
from django.db import connection

from conftest import Tree, Users, make_user
from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment, User
from linli.cases.choices import CaseStatus
from linli.cases.models import Category, DispatchRule
from linli.cases.services import case_open
from linli.cases.tests.conftest import IN_A1, IN_A2, Cats
from linli.core.models import REFERENCE_TOPIC
from linli.core.selectors import change_generation


def _open(users: Users, category: Category, point: tuple[float, float]) -> tuple[int | None, int | None, int]:
    case, _ = case_open(actor=users.street, source="hotline", category=category, description="来电",
                        lon=point[0], lat=point[1])
    return case.assignee_id, case.department_id, case.level


def test_a_grid_worker_swapped_by_a_bulk_update_gets_the_next_case(users: Users, cats: Cats, tree: Tree) -> None:
    # given: the process has cached grid A1's worker
    other = make_user("gw_new", Role.GRID_WORKER)
    assert _open(users, cats.neighbours, IN_A1)[0] == users.grid_worker_a1.pk
    # when: the assignment is moved without save() (no signal, no updated_at)
    AreaAssignment.objects.filter(area=tree.grid_a1, kind=AssignmentKind.PRIMARY).update(user=other)
    # then
    assert _open(users, cats.neighbours, IN_A1)[0] == other.pk


def test_a_category_changed_by_a_bulk_update_applies_to_the_next_case(users: Users, cats: Cats) -> None:
    assert _open(users, cats.rubbish, IN_A2)[2] != 1
    Category.objects.filter(pk=cats.rubbish.pk).update(default_level=1)
    assert _open(users, cats.rubbish, IN_A2)[2] == 1


def test_a_dispatch_rule_switched_off_by_a_bulk_update_no_longer_dispatches(users: Users, cats: Cats) -> None:
    # given: 暴露垃圾 goes to 环卫所 by a rule
    assert _open(users, cats.rubbish, IN_A2)[1] is not None
    # when
    DispatchRule.objects.filter(active=True).update(active=False)
    # then: no rule, no department; the case waits for a dispatcher
    case, _ = case_open(actor=users.street, source="hotline", category=cats.rubbish, description="来电",
                        lon=IN_A2[0], lat=IN_A2[1])
    assert case.department_id is None
    assert case.status == CaseStatus.REGISTERED


def test_the_stamp_ignores_logins_and_names_but_not_roles_or_deactivation(users: Users) -> None:
    # given
    before = change_generation(REFERENCE_TOPIC)
    assert before is not None
    # when a resident logs in or renames himself: unchanged (no cache reload on every login)
    update_last_login(User, users.grid_worker_a1)
    User.objects.filter(pk=users.grid_worker_a1.pk).update(display_name="新名字")
    # then
    assert change_generation(REFERENCE_TOPIC) == before
    # when a grid worker is deactivated
    User.objects.filter(pk=users.grid_worker_a1.pk).update(is_active=False)
    # then
    after = change_generation(REFERENCE_TOPIC)
    assert after != before
    # and a change of role, too
    User.objects.filter(pk=users.grid_worker_a1.pk).update(role=Role.COMMUNITY_STAFF)
    assert change_generation(REFERENCE_TOPIC) not in (before, after)


def test_raw_sql_and_bulk_create_change_the_stamp(users: Users, tree: Tree) -> None:
    before = change_generation(REFERENCE_TOPIC)
    AreaAssignment.objects.bulk_create([AreaAssignment(user=users.street, area=tree.grid_b1)])
    middle = change_generation(REFERENCE_TOPIC)
    assert middle != before
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_areaassignment WHERE user_id = %s AND area_id = %s",
                       [users.street.pk, tree.grid_b1.pk])
    assert change_generation(REFERENCE_TOPIC) not in (before, middle)
