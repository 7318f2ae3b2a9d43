"""Benefits on "my household" (read through care's selectors) and the living certification
tied to them: who must certify are the holders of pension-type benefits, the outcome goes on
those benefits' history, another household's person is not found."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from conftest import Tree, Users
from linli.care.models import BenefitEvent
from linli.care.services import benefit_transition
from linli.core.actors import SystemActor
from linli.core.models import AuditEntry
from linli.portal.choices import CertificationStatus
from linli.portal.face import FakeFaceService
from linli.portal.models import LivingCertification
from linli.portal.tests.conftest import Home
from linli.portal.tests.helpers import PNG, bound_resident, grant_pension

pytestmark = pytest.mark.django_db


@pytest.fixture
def face(settings: Any) -> Iterator[FakeFaceService]:
    with FakeFaceService() as fake:
        settings.LINLI_FACE_VERIFY = fake.settings()
        yield fake


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def _selfie() -> SimpleUploadedFile:
    return SimpleUploadedFile("me.png", PNG, content_type="image/png")


def test_my_household_lists_the_members_benefits_masked_with_the_next_certification(
    tree: Tree, home: Home
) -> None:
    grant_pension(home.zhang, amount="50")
    grant_pension(home.li, "dibao", amount="1280")
    grant_pension(home.wang, "zunlaojin", amount="30")  # household B: never shown to A
    page = _client(bound_resident(home.zhang, community_id=tree.community_a.pk)).get(
        "/portal/household/"
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "高龄津贴（80-89周岁）" in text
    assert "最低生活保障（低保）" in text
    # his own name and amount; the spouse masked, her amount not shown
    assert "张建国" in text
    assert "李**" in text
    assert "李秀英" not in text
    assert "50" in text
    assert "1280" not in text
    # the pension-type benefit shows this year's deadline while it is open (the 低保 none)
    year = timezone.localdate().year
    assert text.count('data-testid="certification-due"') == 1
    assert f"{year}-12-31" in text
    assert 'data-testid="next-certification"' not in text
    assert "尊老金" not in text
    assert "王芳" not in text
    assert AuditEntry.objects.filter(action="portal.household.benefits").count() == 1


def test_a_household_without_benefits_sees_none_and_no_certification(
    tree: Tree, home: Home
) -> None:
    client = _client(bound_resident(home.wang, community_id=tree.community_a.pk))
    assert 'data-testid="benefit"' not in client.get("/portal/household/").content.decode()
    assert 'data-testid="no-certification"' in client.get("/portal/certification/").content.decode()
    # nobody in the household must certify: a POST finds nothing
    assert client.post("/portal/certification/", {"visit": "1"}).status_code == 404
    assert not LivingCertification.objects.exists()


def test_only_pension_type_benefits_call_for_certification(tree: Tree, home: Home) -> None:
    grant_pension(home.zhang, "dibao", amount="1280")
    client = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    assert 'data-testid="no-certification"' in client.get("/portal/certification/").content.decode()
    # a suspended pension does not call for it either
    benefit = grant_pension(home.zhang)
    assert (
        'data-testid="due-certification"' in client.get("/portal/certification/").content.decode()
    )
    benefit_transition(benefit=benefit, action="suspend", actor=SystemActor("test"))
    assert (
        'data-testid="due-certification"'
        not in client.get("/portal/certification/").content.decode()
    )


def test_a_member_certifies_for_the_elder_and_the_outcome_goes_on_the_benefits(
    tree: Tree, home: Home, face: FakeFaceService
) -> None:
    zhang_benefit = grant_pension(home.zhang)
    li_benefit = grant_pension(home.li, "gaoling_80")
    client = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    page = client.get("/portal/certification/").content.decode()
    assert page.count('data-testid="due-certification"') == 2
    assert (
        client.post(
            "/portal/certification/", {"photo": _selfie(), "person": home.li.pk}
        ).status_code
        == 302
    )
    row = LivingCertification.objects.get()
    assert (row.person_id, row.status) == (home.li.pk, CertificationStatus.CERTIFIED)
    # the face service compared the elder's own identity
    assert face.recorder.entries[0]["name"] == "李秀英"
    year = timezone.localdate().year
    event = BenefitEvent.objects.get(benefit=li_benefit, action="certify")
    assert event.reason.startswith(f"{year}:face")
    assert not BenefitEvent.objects.filter(benefit=zhang_benefit, action="certify").exists()
    household = client.get("/portal/household/").content.decode()
    assert household.count('data-testid="next-certification"') == 1
    assert f"{year + 1}-01-01" in household
    assert household.count('data-testid="certification-due"') == 1  # 张建国 still to certify


def test_another_households_person_cannot_be_certified(
    tree: Tree, home: Home, face: FakeFaceService
) -> None:
    grant_pension(home.zhang)
    grant_pension(home.wang, "zunlaojin")
    client = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    assert (
        client.post(
            "/portal/certification/", {"photo": _selfie(), "person": home.wang.pk}
        ).status_code
        == 404
    )
    assert (
        client.post("/portal/certification/", {"visit": "1", "person": home.wang.pk}).status_code
        == 404
    )
    assert face.recorder.entries == []
    assert not LivingCertification.objects.exists()


def test_a_confirmed_home_visit_is_recorded_on_the_benefits(
    tree: Tree, users: Users, home: Home
) -> None:
    benefit = grant_pension(home.zhang)
    client = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    client.post("/portal/certification/", {"visit": "1"})
    row = LivingCertification.objects.get()
    _client(users.grid_worker_a1).post("/portal/staff/certifications/", {"certification": row.pk})
    event = BenefitEvent.objects.get(benefit=benefit, action="certify")
    assert "visit" in event.reason
    assert event.actor_label
    assert AuditEntry.objects.filter(
        action="care.benefit.certify", target_id=str(benefit.pk)
    ).exists()


def test_the_certified_policies_are_a_setting(tree: Tree, home: Home, settings: Any) -> None:
    grant_pension(home.zhang, "dibao", amount="1280")
    settings.LINLI_PORTAL_CERTIFICATION_POLICIES = ["dibao"]
    client = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    assert (
        'data-testid="due-certification"' in client.get("/portal/certification/").content.decode()
    )
