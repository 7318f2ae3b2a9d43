"""Registration by house: code by SMS, matched at once or queued, throttled, no leaks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import segno
from django.test import Client

from conftest import Tree, Users
from linli.accounts.choices import Role
from linli.notify.fake_gateway import FakeGateway
from linli.portal.choices import ProfileStatus, RegistrationStatus
from linli.portal.models import Registration, ResidentProfile
from linli.portal.tests.conftest import WANG_PHONE, ZHANG_PHONE, Home, last_code, register

pytestmark = pytest.mark.django_db


def test_resident_who_matches_the_registry_is_bound_to_person_and_household_at_once(
        client: Client, tree: Tree, home: Home, sms: FakeGateway) -> None:
    # given the registry has 张建国 in room 101 with his phone
    # when he registers by house with name + phone and the code from the SMS
    response = register(client, sms, tree=tree, room=home.room_a, name="张建国", phone=ZHANG_PHONE, id_suffix="0000")
    # then he is signed in and bound to himself and his household
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    profile = ResidentProfile.objects.get()
    assert (profile.status, profile.person_id, profile.household_id) == (
        ProfileStatus.BOUND, home.zhang.pk, home.household_a.pk)
    assert profile.user.role == Role.RESIDENT
    assert Registration.objects.get().status == RegistrationStatus.MATCHED
    page = client.get("/portal/").content.decode()
    assert 'data-testid="bound"' in page


def test_name_and_id_suffix_match_too(client: Client, tree: Tree, home: Home, sms: FakeGateway) -> None:
    # given 李秀英's phone in the registry differs from the one she registers with
    suffix = home.li.id_number_masked[-4:]
    # when she gives her name and the last 4 characters of her ID number
    register(client, sms, tree=tree, room=home.room_a, name="李秀英", phone="13611112222", id_suffix=suffix)
    # then she is matched
    assert ResidentProfile.objects.get().person_id == home.li.pk


def test_unmatched_registration_goes_to_the_community_queue_and_staff_approve_it(
        client: Client, tree: Tree, users: Users, home: Home, sms: FakeGateway) -> None:
    # given someone whose answers match nobody in room 102
    register(client, sms, tree=tree, room=home.room_b, name="王芳", phone="13512345678", id_suffix="9999")
    profile = ResidentProfile.objects.get()
    assert profile.status == ProfileStatus.PENDING
    assert 'data-testid="pending"' in client.get("/portal/").content.decode()
    registration = Registration.objects.get()
    # then the community B staff see nothing, community A staff see it in their queue
    staff_b = Client()
    staff_b.force_login(users.community_b)
    assert "王芳" not in staff_b.get("/portal/staff/registrations/").content.decode()
    assert staff_b.get(f"/portal/staff/registrations/{registration.pk}/").status_code == 404
    staff = Client()
    staff.force_login(users.community_a)
    assert "王芳" in staff.get("/portal/staff/registrations/").content.decode()
    # when community A staff approve, picking 王芳 of the room
    response = staff.post(f"/portal/staff/registrations/{registration.pk}/",
                          {"decision": "approve", "person": home.wang.pk})
    # then the account is bound
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.status, profile.person_id, profile.household_id) == (
        ProfileStatus.BOUND, home.wang.pk, home.household_b.pk)


def test_staff_reject_a_queued_registration(client: Client, tree: Tree, users: Users, home: Home,
                                            sms: FakeGateway) -> None:
    register(client, sms, tree=tree, room=home.room_b, name="赵六", phone="13512345679", id_suffix="9999")
    registration = Registration.objects.get()
    staff = Client()
    staff.force_login(users.community_a)
    staff.post(f"/portal/staff/registrations/{registration.pk}/", {"decision": "reject"})
    assert ResidentProfile.objects.get().status == ProfileStatus.REJECTED
    assert 'data-testid="rejected"' in client.get("/portal/").content.decode()


def test_a_wrong_code_is_refused_and_nothing_is_bound(client: Client, tree: Tree, home: Home,
                                                       sms: FakeGateway) -> None:
    response = register(client, sms, tree=tree, room=home.room_a, name="张建国", phone=ZHANG_PHONE,
                        id_suffix="0000", code="000000")
    assert response.status_code == 400
    assert 'data-testid="code-error"' in response.content.decode()
    assert not ResidentProfile.objects.exists()


def test_the_answer_to_the_form_does_not_reveal_who_lives_there(client: Client, tree: Tree, home: Home,
                                                                  sms: FakeGateway) -> None:
    # given one registration with a resident's true answers and one with made-up answers
    def start(name: str, phone: str) -> tuple[int, str]:
        c = Client()
        r = c.post("/portal/register/", {"community": tree.community_a.pk, "building": home.building.pk,
                                         "unit": home.room_a.unit_id, "room": home.room_a.pk, "name": name,
                                         "phone": phone, "id_suffix": "1234"})
        follow = c.get(r["Location"])
        return r.status_code, follow.content.decode().replace(c.cookies["csrftoken"].value, "")

    true_answer = start("张建国", ZHANG_PHONE)
    made_up = start("钱七", "13311112222")
    # then both get the same answer (a code was "sent")
    assert true_answer[0] == made_up[0] == 302
    assert true_answer[1].count("验证码") == made_up[1].count("验证码")


def test_five_failures_in_ten_minutes_throttle_the_phone(client: Client, tree: Tree, home: Home,
                                                         sms: FakeGateway) -> None:
    # given five wrong codes for one phone (each on a fresh registration)
    for _ in range(5):
        c = Client()
        register(c, sms, tree=tree, room=home.room_b, name="王芳", phone=WANG_PHONE, id_suffix="0000",
                 code="000000")
    # when a sixth attempt starts
    response = client.post("/portal/register/", {
        "community": tree.community_a.pk, "building": home.building.pk, "unit": home.room_b.unit_id,
        "room": home.room_b.pk, "name": "王芳", "phone": WANG_PHONE, "id_suffix": "0000"})
    # then it is refused without saying anything about the address
    assert response.status_code == 429
    text = response.content.decode()
    assert "尝试次数过多" in text
    assert "王芳" not in text.replace('value="王芳"', "")


def test_five_failures_on_one_address_throttle_it_for_other_phones(tree: Tree, home: Home,
                                                                   sms: FakeGateway) -> None:
    # given five unmatched registrations on room 101 from five phones (probing who lives there)
    for i in range(5):
        register(Client(), sms, tree=tree, room=home.room_a, name="钱七", phone=f"1331111000{i}", id_suffix="0000")
    # when a sixth phone tries the same room
    response = Client().post("/portal/register/", {
        "community": tree.community_a.pk, "building": home.building.pk, "unit": home.room_a.unit_id,
        "room": home.room_a.pk, "name": "张建国", "phone": "13322220000", "id_suffix": "0000"})
    # then the room is refused for now
    assert response.status_code == 429


def test_a_returning_resident_signs_in_with_a_code(tree: Tree, home: Home, sms: FakeGateway) -> None:
    register(Client(), sms, tree=tree, room=home.room_a, name="张建国", phone=ZHANG_PHONE, id_suffix="0000")
    client = Client()
    assert client.post("/portal/login/", {"phone": ZHANG_PHONE}).status_code == 302
    response = client.post("/portal/login/code/", {"code": last_code(sms, ZHANG_PHONE)})
    assert response.status_code == 302
    assert 'data-testid="bound"' in client.get("/portal/").content.decode()


def test_sign_in_for_an_unknown_phone_looks_the_same_and_sends_nothing(client: Client, sms: FakeGateway,
                                                                      db: None) -> None:
    response = client.post("/portal/login/", {"phone": "13399998888"})
    assert response.status_code == 302
    from linli.notify.channels.registry import channel_setups
    from linli.notify.relay import Relay

    Relay(channel_setups(), threads=1, chunk=1).run_once()
    assert sms.recorder.entries == []


def test_the_building_code_page_leads_to_the_picker_at_that_building(client: Client, users: Users,
                                                                     tree: Tree, home: Home) -> None:
    staff = Client()
    staff.force_login(users.grid_worker_a1)
    page = staff.get(f"/portal/staff/buildings/{home.building.pk}/code/")
    assert page.status_code == 200
    html = page.content.decode()
    url = f"http://testserver/portal/b/{home.building.pk}/"
    assert url in html
    # the printed QR code carries that same address (its drawing, as segno makes it for the URL)
    drawing = re.search(r' d="([^"]+)"', segno.make(url, error="m").svg_inline()).group(1)  # type: ignore[union-attr]
    assert 'data-testid="building-qr"' in html
    assert drawing in html
    other = Client()
    other.force_login(users.grid_worker_b1)
    assert other.get(f"/portal/staff/buildings/{home.building.pk}/code/").status_code == 404
    entry = client.get(f"/portal/b/{home.building.pk}/")
    assert entry.status_code == 302
    picker = client.get(entry["Location"]).content.decode()
    assert 'data-testid="pick-unit"' in picker


def test_a_resident_logging_in_to_the_workbench_is_sent_to_the_portal(client: Client, db: None) -> None:
    from conftest import make_user

    make_user("res_web", Role.RESIDENT)
    response = client.post("/login/", {"username": "res_web", "password": "Linli-test-2026"})
    assert response.status_code == 302
    assert response["Location"] == "/portal/login/"


def test_the_portal_speaks_english_when_chosen(client: Client, tree: Tree, home: Home) -> None:
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    landing = client.get("/portal/").content.decode()
    picker = client.get(f"/portal/register/?community={tree.community_a.pk}&building={home.building.pk}"
                        f"&unit={home.room_a.unit_id}").content.decode()
    assert "Register by house" in landing
    assert "按房屋注册" not in landing
    assert "Last 4 characters of your ID number" in picker
    assert "Flat 101" in picker


def test_in_development_the_code_is_on_the_dev_page_and_in_production_that_page_is_gone(
        client: Client, tree: Tree, home: Home, settings: Any, tmp_path: Path) -> None:
    from linli.notify.channels.registry import channel_setups
    from linli.notify.relay import Relay

    # given the demo's console SMS channel writing its outbox file
    settings.LINLI_NOTIFY = {"LINLI_NOTIFY_SMS": "console", "LINLI_NOTIFY_CONSOLE_FILE": str(tmp_path / "out.jsonl"),
                             "LINLI_NOTIFY_WECHAT": "off", "LINLI_NOTIFY_WEBPUSH": "off", "LINLI_NOTIFY_EMAIL": "off"}
    client.post("/portal/register/", {
        "community": tree.community_a.pk, "building": home.building.pk, "unit": home.room_a.unit_id,
        "room": home.room_a.pk, "name": "张建国", "phone": ZHANG_PHONE, "id_suffix": "0000"})
    Relay(channel_setups(), threads=1, chunk=1).run_once()
    # when / then
    settings.LINLI_ENV = "development"
    page = client.get("/portal/dev/codes/").content.decode()
    assert "138****1111" in page
    assert re.search(r"验证码是\d{6}", page)
    assert ZHANG_PHONE not in page
    settings.LINLI_ENV = "production"
    assert client.get("/portal/dev/codes/").status_code == 404
