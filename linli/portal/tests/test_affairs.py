"""两委 members and the residents' convention: staff of the community maintain them, staff of
another community cannot, residents see only their own community's."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from conftest import Tree, Users
from linli.core.models import AuditEntry
from linli.portal import workflow
from linli.portal.models import CommitteeMember, Convention
from linli.portal.services import MemberInput, committee_member_save, convention_publish
from linli.portal.tests.conftest import Home
from linli.portal.tests.helpers import PNG, bound_resident

pytestmark = pytest.mark.django_db

MEMBER = {
    "body": "party",
    "role": "secretary",
    "name": "陈建华",
    "duties": "主持党组织全面工作",
    "duty_phone": "0571-87001234",
    "term_start": "2021-05-01",
    "term_end": "2026-05-01",
    "position": "1",
}


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_staff_add_a_member_with_a_photo_and_residents_of_the_community_see_it(
    tree: Tree, users: Users, home: Home
) -> None:
    staff = _client(users.community_a)
    photo = SimpleUploadedFile("chen.png", PNG, content_type="image/png")
    response = staff.post(
        f"/portal/staff/affairs/members/new/?community={tree.community_a.pk}",
        {**MEMBER, "community": tree.community_a.pk, "photo": photo},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    member = CommitteeMember.objects.get()
    assert (member.community_id, member.name, member.photo_type) == (
        tree.community_a.pk,
        "陈建华",
        "image/png",
    )
    assert AuditEntry.objects.filter(
        action="portal.committee.save", target_id=str(member.pk)
    ).exists()
    resident = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    page = resident.get("/portal/affairs/").content.decode()
    assert "陈建华" in page
    assert "0571-87001234" in page
    assert "书记" in page
    assert resident.get(f"/portal/affairs/photos/{member.pk}/").status_code == 200
    # the notices page leads there
    assert 'data-testid="affairs-link"' in resident.get("/portal/notices/").content.decode()


def test_a_personal_mobile_is_refused_as_duty_phone(tree: Tree, users: Users) -> None:
    staff = _client(users.community_a)
    response = staff.post(
        f"/portal/staff/affairs/members/new/?community={tree.community_a.pk}",
        {**MEMBER, "duty_phone": "13812345678"},
    )
    assert response.status_code == 400
    assert "个人手机" in response.content.decode()
    assert not CommitteeMember.objects.exists()


def test_a_photo_that_is_not_an_image_is_refused(tree: Tree, users: Users) -> None:
    staff = _client(users.community_a)
    fake = SimpleUploadedFile("chen.png", b"%PDF-1.4 not a photo", content_type="image/png")
    response = staff.post(
        f"/portal/staff/affairs/members/new/?community={tree.community_a.pk}",
        {**MEMBER, "photo": fake},
    )
    assert response.status_code == 400
    assert not CommitteeMember.objects.exists()


def test_staff_of_another_community_cannot_see_or_edit(tree: Tree, users: Users) -> None:
    member = committee_member_save(
        actor=users.community_a,
        community_id=tree.community_a.pk,
        data=MemberInput(
            body="residents",
            role="director",
            name="刘芳",
            duty_phone="87001235",
            term_start=date(2021, 5, 1),
        ),
        photo=SimpleUploadedFile("l.png", PNG, content_type="image/png"),
    )
    other = _client(users.community_b)
    assert other.get(f"/portal/staff/affairs/?community={tree.community_a.pk}").status_code == 404
    assert other.get(f"/portal/staff/affairs/members/{member.pk}/").status_code == 404
    assert (
        other.post(
            f"/portal/staff/affairs/members/{member.pk}/", {**MEMBER, "name": "改名"}
        ).status_code
        == 404
    )
    assert other.post(f"/portal/staff/affairs/members/{member.pk}/end/").status_code == 404
    assert (
        other.post(
            f"/portal/staff/affairs/members/new/?community={tree.community_a.pk}", MEMBER
        ).status_code
        == 404
    )
    assert (
        other.post(
            f"/portal/staff/affairs/conventions/new/?community={tree.community_a.pk}",
            {"title": "x", "body": "y", "effective_on": "2026-01-01"},
        ).status_code
        == 404
    )
    assert other.get(f"/portal/affairs/photos/{member.pk}/").status_code == 404
    # their own page lists only their community
    assert "刘芳" not in other.get("/portal/staff/affairs/").content.decode()
    member.refresh_from_db()
    assert (member.name, member.is_active) == ("刘芳", True)
    assert Convention.objects.count() == 0
    # the street above both may
    street = _client(users.street)
    assert (
        "刘芳"
        in street.get(f"/portal/staff/affairs/?community={tree.community_a.pk}").content.decode()
    )


def test_roles_without_the_right_get_403(tree: Tree, users: Users, home: Home) -> None:
    for user in (
        users.grid_worker_a1,
        users.auditor,
        bound_resident(home.zhang, community_id=tree.community_a.pk),
    ):
        client = _client(user)
        assert client.get("/portal/staff/affairs/").status_code == 403
        assert (
            client.post(
                f"/portal/staff/affairs/members/new/?community={tree.community_a.pk}", MEMBER
            ).status_code
            == 403
        )
    assert not CommitteeMember.objects.exists()


def test_staff_edit_and_end_a_member(tree: Tree, users: Users, home: Home) -> None:
    staff = _client(users.community_a)
    staff.post(f"/portal/staff/affairs/members/new/?community={tree.community_a.pk}", MEMBER)
    member = CommitteeMember.objects.get()
    assert (
        staff.post(
            f"/portal/staff/affairs/members/{member.pk}/", {**MEMBER, "role": "deputy_secretary"}
        ).status_code
        == 302
    )
    member.refresh_from_db()
    assert member.role == "deputy_secretary"
    resident = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    assert "陈建华" in resident.get("/portal/affairs/").content.decode()
    staff.post(f"/portal/staff/affairs/members/{member.pk}/end/")
    assert "陈建华" not in resident.get("/portal/affairs/").content.decode()
    assert "陈建华" in staff.get("/portal/staff/affairs/").content.decode()  # kept for the record


def test_residents_see_only_their_own_communitys_committee_and_convention(
    tree: Tree, users: Users, home: Home
) -> None:
    committee_member_save(
        actor=users.community_b,
        community_id=tree.community_b.pk,
        data=MemberInput(body="party", role="secretary", name="赵明", term_start=date(2021, 5, 1)),
    )
    other = convention_publish(
        actor=users.community_b,
        community_id=tree.community_b.pk,
        title="婺江社区居民公约",
        body="爱护环境",
        effective_on=date(2024, 1, 1),
    )
    CommitteeMember.objects.get()
    resident = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    page = resident.get("/portal/affairs/").content.decode()
    assert "赵明" not in page
    assert "婺江社区居民公约" not in page
    assert resident.get(f"/portal/affairs/conventions/{other.pk}/").status_code == 404


def test_convention_versions_the_one_in_force_and_the_one_announced(
    tree: Tree, users: Users, home: Home
) -> None:
    staff = _client(users.community_a)
    today = timezone.localdate()
    assert (
        staff.post(
            f"/portal/staff/affairs/conventions/new/?community={tree.community_a.pk}",
            {
                "title": "近江社区居民公约",
                "body": "一、爱国守法。",
                "effective_on": "2023-01-01",
                "adopted_note": "2022年12月居民代表会议通过",
            },
        ).status_code
        == 302
    )
    staff.post(
        f"/portal/staff/affairs/conventions/new/?community={tree.community_a.pk}",
        {
            "title": "近江社区居民公约(修订)",
            "body": "一、爱国守法。二、垃圾分类。",
            "effective_on": "2025-01-01",
        },
    )
    staff.post(
        f"/portal/staff/affairs/conventions/new/?community={tree.community_a.pk}",
        {
            "title": "近江社区居民公约(2027修订)",
            "body": "三、文明养犬。",
            "effective_on": (today + timedelta(days=30)).isoformat(),
        },
    )
    assert list(Convention.objects.order_by("version").values_list("version", flat=True)) == [
        1,
        2,
        3,
    ]
    resident = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    page = resident.get("/portal/affairs/").content.decode()
    assert "近江社区居民公约(修订)" in page
    assert "垃圾分类" in page
    assert 'data-testid="convention-upcoming"' in page
    first = Convention.objects.get(version=1)
    assert (
        "2022年12月居民代表会议通过"
        in resident.get(f"/portal/affairs/conventions/{first.pk}/").content.decode()
    )
    # no effective date: refused
    response = staff.post(
        f"/portal/staff/affairs/conventions/new/?community={tree.community_a.pk}",
        {"title": "x", "body": "y"},
    )
    assert response.status_code == 400


def test_office_phone_rule() -> None:
    for ok in (
        "0571-87001234",
        "057187001234",
        "87001234",
        "96345",
        "0571-87001234-802",
        "87001234转802",
        "",
    ):
        assert workflow.office_phone_problem(ok) is None, ok
    for mobile in ("13812345678", "138-1234-5678", "+8613812345678"):
        assert workflow.office_phone_problem(mobile) == "mobile", mobile
    assert workflow.office_phone_problem("call me") == "format"


def test_convention_in_force_rule() -> None:
    versions = [(1, date(2023, 1, 1)), (2, date(2025, 1, 1)), (3, date(2027, 1, 1))]
    assert workflow.convention_in_force(versions, date(2022, 6, 1)) is None
    assert workflow.convention_in_force(versions, date(2024, 6, 1)) == 1
    assert workflow.convention_in_force(versions, date(2026, 6, 1)) == 2
    assert workflow.certification_due_on(2026) == date(2026, 12, 31)
    assert workflow.certification_next_on(year=2026, certified=True) == date(2027, 1, 1)


def test_the_demo_seed_gives_every_community_its_committee_and_convention_once(
    tree: Tree, home: Home
) -> None:
    from linli.core.actors import SystemActor
    from linli.portal.demo_seed import affairs_demo_seed_if_missing

    report = affairs_demo_seed_if_missing(actor=SystemActor("test:seed"))
    assert (report.communities, report.members, report.conventions) == (2, 18, 4)
    assert affairs_demo_seed_if_missing(actor=SystemActor("test:seed")).communities == 0
    members = CommitteeMember.objects.filter(community=tree.community_a)
    assert all(
        workflow.office_phone_problem(m.duty_phone) is None and m.duty_phone for m in members
    )
    secretary = members.get(role="secretary")
    assert members.get(role="director").name == secretary.name  # 一肩挑
    resident = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    page = resident.get("/portal/affairs/").content.decode()
    assert secretary.name in page
    assert "近江社区居民公约(2024年修订)" in page
