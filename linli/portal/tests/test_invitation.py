"""A household head invites a member of their own household; nobody else can."""

from __future__ import annotations

import pytest
from django.test import Client

from conftest import Tree
from linli.notify.fake_gateway import FakeGateway
from linli.portal.choices import ProfileStatus
from linli.portal.models import Invitation, ResidentProfile
from linli.portal.tests.conftest import Home, last_code
from linli.portal.tests.helpers import bound_resident

pytestmark = pytest.mark.django_db


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_the_head_invites_a_member_who_is_bound_after_the_code(tree: Tree, home: Home, sms: FakeGateway) -> None:
    # given 张建国, head of household A, signed in
    head = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    assert 'data-testid="invite-form"' in head.get("/portal/household/").content.decode()
    # when he invites 李秀英 on her phone and she confirms the code
    response = head.post("/portal/household/invite/", {"person": home.li.pk, "phone": "13622223333"})
    assert 'data-testid="invited"' in response.content.decode()
    member = Client()
    answer = member.post("/portal/invite/", {"phone": "13622223333", "code": last_code(sms, "13622223333")})
    # then her account is bound to herself and the household
    assert answer.status_code == 302
    profile = ResidentProfile.objects.get(person=home.li)
    assert (profile.status, profile.household_id) == (ProfileStatus.BOUND, home.household_a.pk)
    assert 'data-testid="bound"' in member.get("/portal/").content.decode()


def test_a_member_who_is_not_the_head_gets_no_invitation_form_and_is_refused(tree: Tree, home: Home,
                                                                             sms: FakeGateway) -> None:
    li = _client(bound_resident(home.li, community_id=tree.community_a.pk))
    assert 'data-testid="invite-form"' not in li.get("/portal/household/").content.decode()
    assert li.post("/portal/household/invite/", {"person": home.zhang.pk, "phone": "13622223333"}).status_code == 403
    assert not Invitation.objects.exists()


def test_the_head_cannot_invite_a_person_of_another_household(tree: Tree, home: Home, sms: FakeGateway) -> None:
    head = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    response = head.post("/portal/household/invite/", {"person": home.wang.pk, "phone": "13622223333"})
    assert response.status_code == 404
    assert not Invitation.objects.exists()


def test_a_wrong_invitation_code_binds_nothing(tree: Tree, home: Home, sms: FakeGateway) -> None:
    head = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    head.post("/portal/household/invite/", {"person": home.li.pk, "phone": "13622223333"})
    answer = Client().post("/portal/invite/", {"phone": "13622223333", "code": "000000"})
    assert answer.status_code == 400
    assert not ResidentProfile.objects.filter(person=home.li).exists()
