"""The resident and the hall from the phone: answering the clerk's correction (补正), the
decision with its document, appointments at a window, and the report's place on the base
map of their own community. Each with another household's attempt → 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import Tree, Users
from linli.accounts.services import department_named
from linli.cases.models import Case
from linli.catalogue.choices import ApplicationAction, ApplicationStatus, AppointmentStatus
from linli.catalogue.models import Application, ApplicationEvent, Appointment, ServiceWindow
from linli.catalogue.selectors import window_slots
from linli.catalogue.services import (
    application_transition,
    item_create,
    item_publish_version,
    window_create,
)
from linli.core import pii
from linli.portal.hall_selectors import booking_days
from linli.portal.tests.conftest import SEED, Home
from linli.portal.tests.helpers import PNG, bound_resident
from linli.portal.tests.test_resident import instant_item
from linli.web.tests.test_maps import assert_no_coordinates

pytestmark = pytest.mark.django_db

MATERIALS = [{"code": "hukou", "name": "户口簿", "required": True, "accept": ["image", "pdf"]}]
FORM: dict[str, Any] = {
    "steps": [
        {
            "key": "applicant",
            "title": "申请人",
            "when": None,
            "fields": [
                {
                    "key": "name",
                    "label": "姓名",
                    "type": "text",
                    "required": True,
                    "prefill": "person.name",
                },
                {
                    "key": "id_number",
                    "label": "身份证号",
                    "type": "id_number",
                    "required": True,
                    "prefill": "person.id_number",
                },
                {"key": "reason", "label": "申请理由", "type": "textarea", "required": True},
            ],
        },
        {
            "key": "files",
            "title": "材料",
            "when": None,
            "fields": [
                {
                    "key": "hukou_pages",
                    "label": "户口簿照片",
                    "type": "upload",
                    "required": True,
                    "material": "hukou",
                },
            ],
        },
    ]
}
HOURS = {str(d): [["08:30", "11:30"], ["13:30", "17:00"]] for d in range(1, 6)}


def promised_item() -> Any:
    item = item_create(
        actor=SEED,
        code="P100",
        name="困难补助",
        department=department_named(actor=SEED, text="民政"),
        level="community",
        kind="promised",
    )
    return item_publish_version(
        actor=SEED,
        item=item,
        time_limit_days=10,
        materials=MATERIALS,
        steps=["申请", "审核", "办结"],
        form=FORM,
    )


def as_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def png(name: str = "p.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


@pytest.fixture
def returned(tree: Tree, users: Users, home: Home) -> dict[str, Any]:
    """王芳 applied online with one photo; the community's clerk returned it for correction."""
    wang = bound_resident(home.wang, community_id=tree.community_a.pk)
    zhang = bound_resident(home.zhang, community_id=tree.community_a.pk)
    version = promised_item()
    client = as_client(wang)
    response = client.post(
        f"/portal/services/{version.item_id}/apply/",
        {
            "name": "王芳",
            "id_number": home.wang.id_number_masked,
            "reason": "生病",
            "hukou_pages": [png()],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    app = Application.objects.get()
    clerk = users.community_a
    app = application_transition(
        application=app, action=ApplicationAction.START_PRE_REVIEW, actor=clerk
    )
    app = application_transition(
        application=app,
        action=ApplicationAction.RETURN_FOR_CORRECTION,
        actor=clerk,
        missing=["户口簿", "申请理由"],
        note="户口簿缺本人页,理由请写明",
    )
    return {"wang": wang, "zhang": zhang, "client": client, "app": app, "version": version}


# --- corrections ---------------------------------------------------------------------------------


def test_the_clerks_request_is_shown_and_answered_from_the_phone(
    returned: dict[str, Any], home: Home
) -> None:
    client, app = returned["client"], returned["app"]
    # given the application page shows what the clerk asked, with a way to answer it
    page = client.get(f"/portal/applications/{app.pk}/").content.decode()
    assert 'data-testid="correction-request"' in page
    assert "户口簿" in page
    assert "户口簿缺本人页,理由请写明" in page
    form = client.get(f"/portal/applications/{app.pk}/correct/").content.decode()
    assert 'name="keep_hukou_pages"' in form
    assert home.wang.id_number_masked in form
    assert pii.decrypt(home.wang.id_number_enc, field="person.id_number") not in form
    kept = app.files.get()
    # when the resident keeps the first photo, adds the missing page and rewrites the reason
    response = client.post(
        f"/portal/applications/{app.pk}/correct/",
        {
            "version": app.version,
            "name": "王芳",
            "id_number": home.wang.id_number_masked,
            "reason": "因病住院,收入减少",
            "keep_hukou_pages": [kept.pk],
            "hukou_pages": [png("page2.png")],
        },
    )
    # then it goes back to the community's queue with both files, the ID number intact
    assert response.status_code == 302, response.content.decode()[:2000]
    app.refresh_from_db()
    assert app.status == ApplicationStatus.RESUBMITTED
    assert app.data["reason"] == "因病住院,收入减少"
    assert app.files.count() == 2
    assert pii.decrypt(app.data["id_number_enc"], field="application.id_number") == pii.decrypt(
        home.wang.id_number_enc, field="person.id_number"
    )
    last = ApplicationEvent.objects.filter(application=app).order_by("-at", "-id").first()
    assert last is not None
    assert last.action == ApplicationAction.RESUBMIT
    assert last.actor_id == returned["wang"].pk
    assert app.paused_at is None
    # and the page asks nothing any more
    assert client.get(f"/portal/applications/{app.pk}/correct/").status_code == 404
    assert (
        'data-testid="correction-request"'
        not in client.get(f"/portal/applications/{app.pk}/").content.decode()
    )


def test_a_correction_upload_is_checked_by_its_content(
    returned: dict[str, Any], home: Home
) -> None:
    client, app = returned["client"], returned["app"]
    fake = SimpleUploadedFile("page.png", b"MZ\x90\x00 not an image", content_type="image/png")
    response = client.post(
        f"/portal/applications/{app.pk}/correct/",
        {
            "version": app.version,
            "name": "王芳",
            "id_number": home.wang.id_number_masked,
            "reason": "x",
            "hukou_pages": [fake],
        },
    )
    assert response.status_code == 400
    assert 'data-testid="correct-error"' in response.content.decode()
    app.refresh_from_db()
    assert (app.status, app.files.count()) == (ApplicationStatus.RETURNED, 1)


def test_a_stale_form_is_refused_and_nothing_changes(returned: dict[str, Any], home: Home) -> None:
    client, app = returned["client"], returned["app"]
    response = client.post(
        f"/portal/applications/{app.pk}/correct/",
        {
            "version": app.version - 1,
            "name": "王芳",
            "id_number": home.wang.id_number_masked,
            "reason": "x",
            "hukou_pages": [png()],
        },
    )
    assert response.status_code == 409
    app.refresh_from_db()
    assert app.status == ApplicationStatus.RETURNED


def test_another_household_cannot_see_or_answer_the_correction(
    returned: dict[str, Any], home: Home
) -> None:
    other, app = as_client(returned["zhang"]), returned["app"]
    assert other.get(f"/portal/applications/{app.pk}/correct/").status_code == 404
    response = other.post(
        f"/portal/applications/{app.pk}/correct/",
        {
            "version": app.version,
            "name": "王芳",
            "id_number": home.wang.id_number_masked,
            "reason": "x",
        },
    )
    assert response.status_code == 404
    app.refresh_from_db()
    assert app.status == ApplicationStatus.RETURNED


# --- decisions --------------------------------------------------------------------------------


def test_the_decision_and_its_document_for_the_resident_only(tree: Tree, home: Home) -> None:
    zhang = bound_resident(home.zhang, community_id=tree.community_a.pk)
    wang = bound_resident(home.wang, community_id=tree.community_a.pk)
    version = instant_item()
    client = as_client(zhang)
    client.post(
        f"/portal/services/{version.item_id}/apply/",
        {"name": "张建国", "id_number": home.zhang.id_number_masked},
    )
    app = Application.objects.get()
    assert app.status == ApplicationStatus.APPROVED
    page = client.get(f"/portal/applications/{app.pk}/").content.decode()
    assert 'data-testid="application-decision" data-decision="approved"' in page
    document = client.get(f"/portal/applications/{app.pk}/decision/")
    text = document.content.decode()
    assert document.status_code == 200
    assert "准予办理决定书" in text
    assert f"{app.number}-JD" in text
    assert home.zhang.id_number_masked in text
    assert pii.decrypt(home.zhang.id_number_enc, field="person.id_number") not in text
    assert "申请人须年满80周岁" in text  # the condition the rule checked
    download = client.get(f"/portal/applications/{app.pk}/decision/?download=1")
    assert download["Content-Disposition"].startswith("attachment;")
    # another household: not found, exactly like a missing id
    assert as_client(wang).get(f"/portal/applications/{app.pk}/decision/").status_code == 404
    assert as_client(wang).get("/portal/applications/999999/decision/").status_code == 404


def test_a_refusal_has_its_document_and_an_undecided_application_none(
    returned: dict[str, Any], home: Home, tree: Tree
) -> None:
    client, app = returned["client"], returned["app"]
    assert client.get(f"/portal/applications/{app.pk}/decision/").status_code == 404
    # 王芳 (born 1985) is refused by the instant rule, with the reason in the document
    version = instant_item("百岁老人补贴")
    client.post(
        f"/portal/services/{version.item_id}/apply/",
        {"name": "王芳", "id_number": home.wang.id_number_masked},
    )
    refused = Application.objects.filter(item_version=version).get()
    text = client.get(f"/portal/applications/{refused.pk}/decision/").content.decode()
    assert "不予办理决定书" in text
    assert "申请人须年满80周岁" in text
    assert "行政复议" in text


# --- appointments --------------------------------------------------------------------------------


@pytest.fixture
def hall(tree: Tree) -> dict[str, ServiceWindow]:
    near = window_create(
        actor=SEED,
        code="W-A",
        name="近江社区综合窗口",
        community=tree.community_a,
        opening_hours=HOURS,
        slot_minutes=60,
        capacity_per_slot=1,
    )
    far = window_create(
        actor=SEED,
        code="W-B",
        name="婺江社区综合窗口",
        community=tree.community_b,
        opening_hours=HOURS,
        slot_minutes=60,
        capacity_per_slot=1,
    )
    return {"near": near, "far": far}


def _first_slot(window: ServiceWindow) -> tuple[str, str]:
    day = booking_days()[0]
    return day.isoformat(), window_slots(window=window, day=day)[0].start.isoformat()


def test_a_resident_books_sees_and_cancels_a_seat(
    tree: Tree, users: Users, home: Home, hall: dict[str, ServiceWindow]
) -> None:
    zhang = bound_resident(home.zhang, community_id=tree.community_a.pk)
    version = instant_item()
    client = as_client(zhang)
    page = client.get(f"/portal/services/{version.item_id}/appointment/").content.decode()
    assert "近江社区综合窗口" in page
    assert "婺江社区综合窗口" not in page  # another community's hall is not offered
    day, slot = _first_slot(hall["near"])
    response = client.post(
        f"/portal/services/{version.item_id}/appointment/",
        {"window": hall["near"].pk, "day": day, "slot": slot},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    booking = Appointment.objects.get()
    assert (booking.window_id, booking.person_id, booking.booked_by_id) == (
        hall["near"].pk,
        home.zhang.pk,
        zhang.pk,
    )
    assert booking.name == "张建国"
    assert booking.item_id == version.item_id
    listing = client.get("/portal/appointments/").content.decode()
    assert f'data-id="{booking.pk}"' in listing
    assert 'data-testid="appointment-cancel"' in listing
    # the clerk finds it in the window's day list, as a booking made at the window
    queue = as_client(users.community_a).get(
        f"/services/appointments/windows/{hall['near'].pk}/queue/", {"day": day}
    )
    assert "张建国" in queue.content.decode()
    # booking the same slot again is refused (no double booking)
    again = client.post(
        f"/portal/services/{version.item_id}/appointment/",
        {"window": hall["near"].pk, "day": day, "slot": slot},
    )
    assert again.status_code == 409
    # when they cancel it
    assert client.post(f"/portal/appointments/{booking.pk}/cancel/").status_code == 302
    booking.refresh_from_db()
    assert booking.status == AppointmentStatus.CANCELLED


def test_a_full_slot_is_refused_and_another_household_cannot_cancel(
    tree: Tree, home: Home, hall: dict[str, ServiceWindow]
) -> None:
    zhang = bound_resident(home.zhang, community_id=tree.community_a.pk)
    wang = bound_resident(home.wang, community_id=tree.community_a.pk)
    version = instant_item()
    day, slot = _first_slot(hall["near"])
    url = f"/portal/services/{version.item_id}/appointment/"
    assert (
        as_client(zhang)
        .post(url, {"window": hall["near"].pk, "day": day, "slot": slot})
        .status_code
        == 302
    )
    # one seat per slot: 王芳 cannot take it, and the page shows the slot as full
    full = as_client(wang).post(url, {"window": hall["near"].pk, "day": day, "slot": slot})
    assert full.status_code == 409
    assert (
        'data-available="0"'
        in as_client(wang).get(url, {"window": str(hall["near"].pk), "day": day}).content.decode()
    )
    booking = Appointment.objects.get()
    # 王芳 neither sees nor cancels 张建国's booking
    assert (
        f'data-id="{booking.pk}"'
        not in as_client(wang).get("/portal/appointments/").content.decode()
    )
    assert as_client(wang).post(f"/portal/appointments/{booking.pk}/cancel/").status_code == 404
    booking.refresh_from_db()
    assert booking.status == AppointmentStatus.BOOKED
    # another community's window cannot be booked by naming it
    far_day, far_slot = _first_slot(hall["far"])
    as_client(wang).post(url, {"window": hall["far"].pk, "day": far_day, "slot": far_slot})
    assert not Appointment.objects.filter(window=hall["far"]).exists()


# --- the report's place on the base map ----------------------------------------------------------------


BOX = "120.19,30.19,120.23,30.22"


def test_the_residents_base_map_is_their_community_without_persons(
    tree: Tree, users: Users, home: Home
) -> None:
    zhang = bound_resident(home.zhang, community_id=tree.community_a.pk)
    answer = as_client(zhang).get("/portal/map/base.json", {"bbox": BOX}).json()
    layers = {(f["properties"]["layer"], f["properties"].get("name")) for f in answer["features"]}
    assert ("building", "望江小区1幢") in layers
    assert ("area", tree.grid_a1.name) in layers
    assert ("area", tree.grid_b1.name) not in layers
    assert not any(layer == "facility" for layer, _name in layers)
    text = as_client(zhang).get("/portal/map/base.json", {"bbox": BOX}).content.decode()
    for secret in ("张建国", "李秀英", "王芳", "13800001111", "building_url"):
        assert secret not in text
    # staff keep their own map; strangers sign in first
    assert as_client(users.community_a).get("/portal/map/base.json").status_code == 403
    assert Client().get("/portal/map/base.json").status_code == 302
    assert (
        as_client(zhang).get("/portal/map/base.json", {"bbox": "119,29,121,31"}).status_code == 400
    )


def test_the_nearest_building_names_the_place_and_the_report_keeps_it(
    tree: Tree, home: Home, cats: None
) -> None:
    zhang = bound_resident(home.zhang, community_id=tree.community_a.pk)
    client = as_client(zhang)
    near = client.get("/portal/map/nearest.json", {"lat": "30.2051", "lon": "120.2051"}).json()
    assert near["found"] is True
    assert near["address"] == "望江路1号1幢"
    assert (
        client.get("/portal/map/nearest.json", {"lat": "31.5", "lon": "121.5"}).json()["found"]
        is False
    )
    assert client.get("/portal/map/nearest.json", {"lat": "x", "lon": "1"}).status_code == 400
    # the form opens on their own building and carries the picker with the portal's sources
    form = client.get("/portal/reports/new/").content.decode()
    assert "data-map-picker" in form
    assert 'data-nearest-url="/portal/map/nearest.json"' in form
    assert 'value="120.205"' in form
    assert_no_coordinates(form)  # only in the hidden inputs, never in words
    # a point picked on the map without words gets the nearest building's address
    response = client.post(
        "/portal/reports/new/",
        {
            "category": "1101",
            "description": "路灯不亮",
            "lon": "120.2052",
            "lat": "30.2049",
            "address": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    case = Case.objects.get()
    assert case.lon is not None
    assert case.lat is not None
    assert (round(case.lon, 4), round(case.lat, 4), case.address) == (
        120.2052,
        30.2049,
        "望江路1号1幢",
    )
