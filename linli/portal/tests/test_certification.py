"""The yearly living certification: face verification through a local fake service speaking
the adapter's HTTP shape (linli keeps the outcome only), and the home-visit fallback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import Tree, Users
from linli.core.models import AuditEntry
from linli.portal.choices import CertificationMethod, CertificationStatus
from linli.portal.face import FakeFaceService
from linli.portal.models import LivingCertification
from linli.portal.tests.conftest import Home
from linli.portal.tests.helpers import PNG, bound_resident, grant_pension

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def pension(home: Home) -> None:
    """张建国 (86) receives the 80–89 age allowance: he must certify this year."""
    grant_pension(home.zhang)


@pytest.fixture
def face(settings: Any) -> Iterator[FakeFaceService]:
    with FakeFaceService() as fake:
        settings.LINLI_FACE_VERIFY = fake.settings()
        yield fake


def _selfie(*, passing: bool = True) -> SimpleUploadedFile:
    return SimpleUploadedFile("me.png", PNG + (b"" if passing else b"FAIL"), content_type="image/png")


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_a_passing_face_check_certifies_the_year_and_keeps_no_image(tree: Tree, home: Home,
                                                                    face: FakeFaceService) -> None:
    client = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    response = client.post("/portal/certification/", {"photo": _selfie()})
    assert response.status_code == 302
    row = LivingCertification.objects.get()
    assert (row.person_id, row.status, row.method) == (home.zhang.pk, CertificationStatus.CERTIFIED,
                                                       CertificationMethod.FACE)
    assert row.provider_request_id == face.recorder.entries[0]["request_id"]
    # the service got the image once; linli kept only the outcome (no field holds an image)
    assert len(face.recorder.entries) == 1
    assert {f.name for f in LivingCertification._meta.get_fields()}.isdisjoint({"image", "photo", "score"})
    assert 'data-testid="certified"' in client.get("/portal/certification/").content.decode()
    assert AuditEntry.objects.filter(action="portal.certification.face").exists()


def test_three_failed_checks_turn_into_a_home_visit_that_staff_confirm(tree: Tree, users: Users, home: Home,
                                                                       face: FakeFaceService) -> None:
    client = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    for _ in range(3):
        client.post("/portal/certification/", {"photo": _selfie(passing=False)})
    row = LivingCertification.objects.get()
    assert (row.status, row.face_attempts) == (CertificationStatus.VISIT, 3)
    # a fourth try is not sent to the service
    client.post("/portal/certification/", {"photo": _selfie()})
    assert len(face.recorder.entries) == 3
    # staff of another grid do not see it; the grid worker of the person's grid confirms
    other = _client(users.grid_worker_b1)
    assert "张建国" not in other.get("/portal/staff/certifications/").content.decode()
    assert other.post("/portal/staff/certifications/", {"certification": row.pk}).status_code == 404
    worker = _client(users.grid_worker_a1)
    assert "张建国" in worker.get("/portal/staff/certifications/").content.decode()
    worker.post("/portal/staff/certifications/", {"certification": row.pk})
    row.refresh_from_db()
    assert (row.status, row.method, row.confirmed_by_id) == (CertificationStatus.CERTIFIED,
                                                             CertificationMethod.VISIT, users.grid_worker_a1.pk)


def test_a_resident_may_ask_for_the_visit_at_once(tree: Tree, home: Home, face: FakeFaceService) -> None:
    client = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    client.post("/portal/certification/", {"visit": "1"})
    assert LivingCertification.objects.get().status == CertificationStatus.VISIT
    assert face.recorder.entries == []


def test_an_unreachable_service_changes_nothing(tree: Tree, home: Home, settings: Any) -> None:
    settings.LINLI_FACE_VERIFY = {"endpoint": "http://127.0.0.1:9", "app_id": "x", "secret": "y", "timeout": "1"}
    client = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    response = client.post("/portal/certification/", {"photo": _selfie()})
    assert response.status_code == 400
    assert LivingCertification.objects.get().face_attempts == 0


def test_a_non_image_is_refused_before_the_service_is_asked(tree: Tree, home: Home, face: FakeFaceService) -> None:
    client = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    bad = SimpleUploadedFile("me.png", b"MZ not an image", content_type="image/png")
    assert client.post("/portal/certification/", {"photo": bad}).status_code == 400
    assert face.recorder.entries == []


def test_a_wrong_signature_is_refused_by_the_fake_like_the_real_service(tree: Tree, home: Home,
                                                                        face: FakeFaceService, settings: Any) -> None:
    settings.LINLI_FACE_VERIFY = {**face.settings(), "secret": "wrong"}
    client = _client(bound_resident(home.zhang, community_id=tree.community_a.pk))
    assert client.post("/portal/certification/", {"photo": _selfie()}).status_code == 400
    assert face.recorder.entries == []
