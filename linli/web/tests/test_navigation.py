"""The workbench navigation (#16.9) and words for codes (#16.8).

Groups by task, only what the role may open; the role shown once; a bell that is an icon with
a label; the grid worker's home starts with his work; actors, actions, fields, targets and
case levels in words. The per-role browser test (tests/browser/test_every_page.py) opens
every link; these tests pin the rules themselves.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from conftest import Users, make_user
from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.cases.choices import level_label
from linli.cases.tests.conftest import cats, open_case  # noqa: F401 -- fixtures
from linli.core.actors import actor_words
from linli.web.audit_words import action_words, fields_words, reason_words, target_words
from linli.web.navigation import navigation_for

pytestmark = pytest.mark.django_db


def groups_of(user: User) -> dict[str, list[str]]:
    return {group.key: [link.key for link in group.links] for group in navigation_for(user=user)}


def test_grid_worker_is_offered_his_ground_work_and_no_administration(users: Users) -> None:
    # given a grid worker / when his navigation is built
    groups = groups_of(users.grid_worker_a1)
    # then he works on the ground: registry, cases, care, devices, his emergency tasks
    assert list(groups) == ["home", "registry", "cases", "services", "care", "devices", "command"]
    assert groups["command"] == ["emergency-tasks"]
    assert "window" not in groups["services"]
    assert "hotline" not in groups["cases"]
    assert "care-rules" not in groups["care"]


def test_auditor_is_offered_the_audit_trail_and_nothing_else(users: Users) -> None:
    assert groups_of(users.auditor) == {"manage": ["audit"]}


def test_district_admin_administers(users: Users) -> None:
    groups = groups_of(users.district_admin)
    assert {"manage", "notify-templates", "notify-outbox", "audit", "fusion", "ops-jobs"} <= set(
        groups["manage"]
    )
    assert "care-rules" in groups["care"]
    assert groups["command"] == ["cockpit", "emergency"]


def test_no_group_is_crowded(users: Users) -> None:
    # given every role / then no more than eight groups, none over seven links
    for user in (
        users.grid_worker_a1,
        users.community_a,
        users.street,
        users.district_admin,
        users.auditor,
    ):
        groups = navigation_for(user=user)
        assert len(groups) <= 8
        assert all(len(group.links) <= 7 for group in groups), user.role


def test_the_current_page_is_marked(users: Users) -> None:
    groups = navigation_for(user=users.street, path="/cases/all/")
    current = [(g.key, link.key) for g in groups for link in g.links if link.current]
    assert current == [("cases", "case-list")]


def test_page_has_phone_menu_grouped_navigation_and_role_once(client: Client, users: Users) -> None:
    # given the demo's administrator, whose name is his role
    admin = users.district_admin
    admin.display_name = "区级管理员"
    admin.save(update_fields=["display_name"])
    client.force_login(admin)
    # when he opens a page
    body = client.get(reverse("web:areas")).content.decode()
    # then a menu button controls the navigation, groups are disclosure widgets, role once
    assert re.search(
        r'<button type="button" class="nav-toggle" aria-expanded="false" aria-controls="mainnav"',
        body,
    )
    assert 'id="mainnav"' in body
    assert 'data-testid="navgroup-manage"' in body
    assert body.count("区级管理员") == 1
    assert "web/workbench.js" in body


def test_role_shown_beside_a_persons_name(client: Client, users: Users) -> None:
    worker = users.grid_worker_a1
    worker.display_name = "周明"
    worker.save(update_fields=["display_name"])
    client.force_login(worker)
    body = client.get(reverse("web:areas")).content.decode()
    assert re.search(
        r'data-testid="current-user">周明<small data-testid="current-role">网格员</small>', body
    )


def test_bell_is_an_icon_with_its_count_in_words(client: Client, users: Users) -> None:
    client.force_login(users.grid_worker_a1)
    body = client.get(reverse("web:areas")).content.decode()
    bell = body[body.index('data-testid="notify-bell"') :]
    bell = bell[: bell.index("</a>")]
    assert "<svg" in bell
    assert "🔔" not in body
    assert 'aria-label="通知，0条未读"' in bell


def test_grid_worker_home_starts_with_his_cases(
    client: Client,
    users: Users,
    open_case: Any,  # noqa: F811
) -> None:
    # given a neighbours' quarrel dispatched to grid a1's worker
    case = open_case(description="楼道里有人吵架")
    case.refresh_from_db()
    assert case.assignee_id == users.grid_worker_a1.pk
    # when he opens the home page
    client.force_login(users.grid_worker_a1)
    body = client.get(reverse("web:home")).content.decode()
    # then his work comes before the figures, with the case in it
    assert body.index('data-testid="my-work"') < body.index('data-testid="figures"')
    work = body[body.index('data-testid="work-cases"') : body.index('data-testid="work-tasks"')]
    assert reverse("cases:case", args=[case.pk]) in work
    assert 'data-testid="work-visits"' in body


def test_other_grids_cases_are_not_his_work(client: Client, users: Users, open_case: Any) -> None:  # noqa: F811
    case = open_case()
    client.force_login(users.grid_worker_b1)
    body = client.get(reverse("web:home")).content.decode()
    assert reverse("cases:case", args=[case.pk]) not in body


def test_case_timeline_names_people_and_machines(
    client: Client,
    users: Users,
    open_case: Any,  # noqa: F811
) -> None:
    # given a case the community registered and the rules dispatched
    users.community_a.display_name = "吴芳"
    users.community_a.save(update_fields=["display_name"])
    case = open_case()
    client.force_login(users.community_a)
    # when its page is opened
    body = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    actors = re.findall(r'data-testid="timeline-actor">([^<]*)<', body)
    # then people by name, no sign-in names or codes; the level in words
    assert "吴芳" in actors
    assert not [a for a in actors if re.search(r"[a-z]+[_:][a-z]+", a)]
    assert re.search(r'data-testid="case-level">\d级 · ', body)


@pytest.mark.parametrize(
    ("label", "words"),
    [
        ("system:cases", "系统（事件）"),
        ("job:care_sweep", "后台任务（民生巡查）"),
        ("command:seed", "命令（演示数据）"),
        ("job:something_new", "后台任务"),
        ("apikey:ab12", "接口 ab12"),
        ("周明", "周明"),
    ],
)
def test_system_actors_in_words(label: str, words: str) -> None:
    assert actor_words(label) == words


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("person.fuse", "合并数据来源"),
        ("case.dispatch", "事件：派遣"),
        ("devices.alarm_false_alarm", "物联设备：误报"),
        ("care.sweep.recommend_new", "民生服务：其他操作"),
        ("zz.unknown", "其他操作"),
    ],
)
def test_audit_actions_in_words(code: str, words: str) -> None:
    assert action_words(code) == words


def test_audit_fields_targets_and_reasons_in_words() -> None:
    assert (
        fields_words(
            ["name", "name_pinyin", "name_initials", "phone_enc", "phone_bidx", "phone_s4"]
        )
        == "姓名、电话"
    )
    assert target_words("registry.person") == "人员"
    assert target_words("care.list") == "民生名单"
    assert reason_words("residence") == "居住地址"
    assert reason_words("户主来电说明") == "户主来电说明"


def test_case_levels_in_words() -> None:
    assert level_label(1) == "1级 · 特急"
    assert level_label(5) == "5级 · 轻微"


def test_resident_is_offered_no_workbench_page(users: Users) -> None:
    # given a resident (residents use the portal) / then the workbench offers him nothing
    resident = make_user("res_nav", Role.RESIDENT)
    assert navigation_for(user=resident) == []
