"""A bound resident's pages: household, reports (随手拍), services and applications, notices."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import Tree, Users
from linli.accounts.services import department_named
from linli.cases.choices import CaseSource, CaseStatus
from linli.cases.models import Case, CaseEvent
from linli.catalogue.choices import ApplicationStatus
from linli.catalogue.models import Application
from linli.catalogue.services import item_create, item_publish_version
from linli.notify.models import Notification
from linli.portal.models import Notice
from linli.portal.tests.conftest import SEED, Home
from linli.portal.tests.helpers import PNG, bound_resident, close_report

pytestmark = pytest.mark.django_db

FORM: dict[str, Any] = {"steps": [
    {"key": "applicant", "title": "申请人", "when": None, "fields": [
        {"key": "name", "label": "姓名", "type": "text", "required": True, "prefill": "person.name"},
        {"key": "id_number", "label": "身份证号", "type": "id_number", "required": True,
         "prefill": "person.id_number"},
    ]},
]}
ELDER_RULE: dict[str, Any] = {"all": [
    {"fact": "person.age", "op": "gte", "value": 80, "message": "申请人须年满80周岁"},
]}


def instant_item(name: str = "高龄津贴") -> Any:
    item = item_create(actor=SEED, code="P001", name=name, department=department_named(actor=SEED, text="民政"),
                       level="street", kind="instant")
    return item_publish_version(actor=SEED, item=item, time_limit_days=1, materials=[], steps=["申请", "办结"],
                                form=FORM, rules=ELDER_RULE)


def as_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_household_shows_own_members_masked_and_nothing_of_the_neighbours(tree: Tree, home: Home) -> None:
    # given 张建国 bound to household A
    client = as_client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    # when
    page = client.get("/portal/household/").content.decode()
    # then his own name, his wife's masked, no neighbour, no full phone
    assert "张建国" in page
    assert "李**" in page
    assert "李秀英" not in page
    assert "王" not in page.split('data-testid="members"')[1].split("</ul>")[0]
    assert "13700003333" not in page


def test_a_report_with_a_photo_becomes_a_resident_case_followed_to_its_rating(
        tree: Tree, users: Users, home: Home, cats: None) -> None:
    # given 张建国 reports a neighbours' dispute with a photo
    resident = bound_resident(home.zhang, community_id=tree.community_a.pk)
    client = as_client(resident)
    response = client.post("/portal/reports/new/", {
        "category": "1101", "description": "楼上装修噪音,电话13812345678",
        "photos": [SimpleUploadedFile("p.png", PNG, content_type="image/png")]})
    assert response.status_code == 302, response.content.decode()[:3000]
    case = Case.objects.get()
    assert (case.source, case.reporter_id, case.grid_id) == (CaseSource.RESIDENT, resident.pk, tree.grid_a1.pk)
    # when the community and the grid worker take it through the loop
    close_report(case, community=users.community_a, worker=users.grid_worker_a1)
    # then the resident sees the public steps only, never who handled it or the notes
    page = client.get(f"/portal/reports/{case.pk}/").content.decode()
    assert 'data-testid="rate-form"' in page
    assert "gw_a1" not in page
    assert "已调解" not in page
    assert "13812345678" not in page
    # and rates it
    client.post(f"/portal/reports/{case.pk}/rate/", {"satisfaction": "4"})
    case.refresh_from_db()
    assert (case.status, case.satisfaction) == (CaseStatus.EVALUATED, 4)
    assert CaseEvent.objects.filter(case=case, action="evaluate").exists()


def test_a_pending_resident_cannot_report_or_apply(tree: Tree, home: Home, cats: None) -> None:
    resident = bound_resident(home.zhang, community_id=tree.community_a.pk)
    resident.resident_profile.status = "pending"
    resident.resident_profile.save()
    client = as_client(resident)
    response = client.post("/portal/reports/new/", {"category": "1101", "description": "x"})
    assert response.status_code == 403
    assert not Case.objects.exists()


def test_an_instant_item_is_decided_at_once_for_the_bound_person(tree: Tree, home: Home) -> None:
    # given 张建国 (86) bound, and the instant 高龄津贴 with an 80+ rule
    version = instant_item()
    client = as_client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    # when he opens the guided form: his own ID is prefilled masked, then he submits it
    form = client.get(f"/portal/services/{version.item_id}/apply/").content.decode()
    assert home.zhang.id_number_masked in form
    response = client.post(f"/portal/services/{version.item_id}/apply/", {
        "name": "张建国", "id_number": home.zhang.id_number_masked, "key": "k1"})
    # then it is approved at once
    assert response.status_code == 302, response.content.decode()[:3000]
    application = Application.objects.get()
    assert application.status == ApplicationStatus.APPROVED
    assert application.applicant_id == home.zhang.pk
    detail = client.get(response["Location"]).content.decode()
    assert "已办结(准予)" in detail


def test_a_younger_resident_is_refused_at_once_with_the_reason(tree: Tree, home: Home) -> None:
    version = instant_item()
    client = as_client(bound_resident(home.wang, community_id=tree.community_a.pk))
    client.post(f"/portal/services/{version.item_id}/apply/", {
        "name": "王芳", "id_number": home.wang.id_number_masked, "key": "k2"})
    assert Application.objects.get().status == ApplicationStatus.REJECTED


def test_one_sentence_search_finds_the_item(tree: Tree, home: Home) -> None:
    instant_item(name="高龄津贴申领")
    client = as_client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    page = client.get("/portal/services/").content.decode()
    assert "高龄津贴申领" in page


def test_staff_publish_a_notice_residents_of_the_area_read_it_and_reads_are_counted(
        tree: Tree, users: Users, home: Home) -> None:
    # given 张建国 (community A) and 王芳 registered in community B
    zhang = bound_resident(home.zhang, community_id=tree.community_a.pk)
    other = bound_resident(home.wang, community_id=tree.community_b.pk)
    staff = as_client(users.community_a)
    # when community A staff publish a 财务公开 notice with a PDF attachment
    response = staff.post("/portal/staff/notices/new/", {
        "area": tree.community_a.pk, "kind": "finance", "period": "2026-Q4", "title": "第四季度财务收支",
        "body": "收入 1000 元", "files": [SimpleUploadedFile("a.pdf", b"%PDF-1.4\n%%EOF\n",
                                                            content_type="application/pdf")]})
    assert response.status_code == 302, response.content.decode()[:3000]
    notice = Notice.objects.get()
    # then 张建国 is notified in-app and finds it by period and by word; community B sees nothing
    assert Notification.objects.filter(recipient=zhang, event_type="portal.notice").exists()
    assert not Notification.objects.filter(recipient=other).exists()
    client = as_client(zhang)
    assert "第四季度财务收支" in client.get("/portal/notices/?kind=finance&period=2026-Q4").content.decode()
    assert "第四季度财务收支" in client.get("/portal/notices/?q=财务收支").content.decode()
    assert "第四季度财务收支" not in client.get("/portal/notices/?q=绿化").content.decode()
    assert as_client(other).get(f"/portal/notices/{notice.pk}/").status_code == 404
    # and reading twice counts once
    client.get(f"/portal/notices/{notice.pk}/")
    client.get(f"/portal/notices/{notice.pk}/")
    notice.refresh_from_db()
    assert notice.read_count == 1
    attachment = notice.attachments.get()
    assert client.get(f"/portal/notices/files/{attachment.pk}/").status_code == 200
    assert as_client(other).get(f"/portal/notices/files/{attachment.pk}/").status_code == 404


def test_a_notice_attachment_is_checked_by_content(tree: Tree, users: Users) -> None:
    staff = as_client(users.community_a)
    response = staff.post("/portal/staff/notices/new/", {
        "area": tree.community_a.pk, "kind": "notice", "title": "t", "body": "b",
        "files": [SimpleUploadedFile("a.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")]})
    assert response.status_code == 400
    assert not Notice.objects.exists()


def test_staff_cannot_publish_outside_their_area(tree: Tree, users: Users) -> None:
    staff = as_client(users.community_b)
    response = staff.post("/portal/staff/notices/new/", {
        "area": tree.community_a.pk, "kind": "notice", "title": "t", "body": "b"})
    assert response.status_code == 400
    assert not Notice.objects.exists()
