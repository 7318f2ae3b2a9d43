"""Every resident endpoint against another household's objects answers 404; no staff page
is reachable by a resident; CSRF is enforced on the portal's forms."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conftest import Tree, Users
from linli.cases.models import Case, CasePhoto
from linli.catalogue.models import Application
from linli.portal.models import Notice, NoticeAttachment, Registration
from linli.portal.services import notice_publish, report_submit
from linli.portal.tests.conftest import Home
from linli.portal.tests.helpers import PNG, bound_resident, close_report
from linli.portal.tests.test_resident import instant_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def neighbours(tree: Tree, users: Users, home: Home, cats: None) -> dict[str, Any]:
    """王芳 (household B, community A) with a report, a photo, an application; a community B
    notice with an attachment; 张建国 (household A) is the one who tries to peek."""
    wang = bound_resident(home.wang, community_id=tree.community_a.pk)
    zhang = bound_resident(home.zhang, community_id=tree.community_b.pk)
    case = report_submit(user=wang, category="1101", description="楼道堆物",
                         photos=[SimpleUploadedFile("p.png", PNG, content_type="image/png")])
    close_report(case, community=users.community_a, worker=users.grid_worker_a1)
    version = instant_item()
    client = Client()
    client.force_login(wang)
    client.post(f"/portal/services/{version.item_id}/apply/", {"name": "王芳", "id_number": home.wang.id_number_masked})
    notice = notice_publish(actor=users.community_a, area_id=tree.community_a.pk, kind="notice", title="停水通知",
                            body="明日停水", files=[SimpleUploadedFile("a.pdf", b"%PDF-1.4\n", content_type="application/pdf")])
    return {"wang": wang, "zhang": zhang, "case": Case.objects.get(), "photo": CasePhoto.objects.get(),
            "application": Application.objects.get(), "notice": notice, "attachment": NoticeAttachment.objects.get()}


def test_the_owner_reaches_each_object(neighbours: dict[str, Any]) -> None:
    client = Client()
    client.force_login(neighbours["wang"])
    for url in _object_urls(neighbours):
        assert client.get(url).status_code == 200, url


def test_another_households_objects_are_not_found(neighbours: dict[str, Any]) -> None:
    client = Client()
    client.force_login(neighbours["zhang"])
    for url in _object_urls(neighbours):
        assert client.get(url).status_code == 404, url
    # and rating someone else's report changes nothing
    case = neighbours["case"]
    assert client.post(f"/portal/reports/{case.pk}/rate/", {"satisfaction": "1"}).status_code == 404
    case.refresh_from_db()
    assert case.satisfaction is None
    # nor do the lists show them
    for url in ("/portal/reports/", "/portal/household/", "/portal/applications/", "/portal/notices/"):
        page = client.get(url).content.decode()
        assert case.number not in page
        assert neighbours["application"].number not in page
        assert "停水通知" not in page


def _object_urls(n: dict[str, Any]) -> list[str]:
    return [
        f"/portal/reports/{n['case'].pk}/",
        f"/portal/reports/photos/{n['photo'].pk}/",
        f"/portal/applications/{n['application'].pk}/",
        f"/portal/notices/{n['notice'].pk}/",
        f"/portal/notices/files/{n['attachment'].pk}/",
    ]


STAFF_PAGES = ["/portal/staff/registrations/", "/portal/staff/notices/", "/portal/staff/notices/new/",
               "/", "/persons/", "/cases/", "/services/applications/", "/cockpit/", "/care/", "/audit/"]


def test_no_staff_page_is_reachable_by_a_resident(neighbours: dict[str, Any], home: Home) -> None:
    client = Client()
    client.force_login(neighbours["zhang"])
    for url in [*STAFF_PAGES, f"/portal/staff/buildings/{home.building.pk}/code/",
                f"/persons/{home.wang.pk}/", f"/cases/{neighbours['case'].pk}/"]:
        response = client.get(url)
        assert response.status_code in {302, 403, 404}, url
        if response.status_code == 302:
            assert response["Location"].startswith("/portal"), url


def test_a_resident_cannot_decide_a_registration(tree: Tree, home: Home, neighbours: dict[str, Any]) -> None:
    registration = Registration.objects.create(community=tree.community_a, room=home.room_a, name="x",
                                               phone_enc="", phone_bidx="b", phone_masked="m", status="queued")
    client = Client()
    client.force_login(neighbours["zhang"])
    response = client.post(f"/portal/staff/registrations/{registration.pk}/", {"decision": "approve"})
    assert response.status_code == 403
    registration.refresh_from_db()
    assert registration.status == "queued"


def test_staff_get_no_resident_pages(users: Users) -> None:
    client = Client()
    client.force_login(users.community_a)
    for name in ("portal:household", "portal:reports", "portal:services", "portal:notices"):
        assert client.get(reverse(name)).status_code == 403, name


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, db: None) -> None:
    for name in ("portal:household", "portal:reports", "portal:applications", "portal:notices"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"] == reverse("portal:login")


def test_csrf_is_enforced_on_portal_forms(tree: Tree, home: Home, neighbours: dict[str, Any]) -> None:
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post("/portal/login/", {"phone": "13800001111"}).status_code == 403
    assert anonymous.post("/portal/register/", {"community": tree.community_a.pk}).status_code == 403
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(neighbours["wang"])
    case = neighbours["case"]
    assert signed_in.post(f"/portal/reports/{case.pk}/rate/", {"satisfaction": "5"}).status_code == 403
    assert signed_in.post("/portal/reports/new/", {"category": "1101", "description": "x"}).status_code == 403


def test_notices_of_another_community_stay_hidden(tree: Tree, users: Users, neighbours: dict[str, Any]) -> None:
    # a street-wide notice reaches both communities
    notice_publish(actor=users.street, area_id=tree.street.pk, kind="notice", title="街道防汛通知", body="备好沙袋")
    client = Client()
    client.force_login(neighbours["zhang"])
    page = client.get("/portal/notices/").content.decode()
    assert "街道防汛通知" in page
    assert "停水通知" not in page
    assert Notice.objects.count() == 2
