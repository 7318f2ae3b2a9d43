"""Uploads: type by content, size limit, storage place, and who may read them back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import Tree
from linli.catalogue.choices import CatalogueErrorCode
from linli.catalogue.models import ApplicationFile
from linli.catalogue.selectors import application_file_open_for_user
from linli.catalogue.services import application_submit
from linli.catalogue.tests.conftest import CatalogueUsers, ItemFactory, valid_data
from linli.catalogue.uploads import sniff_content_type, upload_remove, upload_store
from linli.core.errors import NotFound, ValidationFailed

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.7\n" + b"1 0 obj\n" * 4
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe1" + b"\x00" * 32


@pytest.mark.parametrize(("head", "expected"), [
    (JPEG, "image/jpeg"), (PNG, "image/png"), (PDF, "application/pdf"), (WEBP, "image/webp"),
    (b"GIF89a" + b"\x00" * 10, None), (b"<html><script>", None), (b"MZ\x90\x00", None), (b"", None),
    (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
])
def test_type_is_decided_by_the_first_bytes(head: bytes, expected: str | None) -> None:
    assert sniff_content_type(head) == expected


def test_a_script_named_like_a_picture_is_refused(settings: Any) -> None:
    upload = SimpleUploadedFile("photo.jpg", b"<script>alert(1)</script>", content_type="image/jpeg")
    with pytest.raises(ValidationFailed) as refused:
        upload_store(upload, field="photo")
    assert refused.value.code == CatalogueErrorCode.FILE_TYPE
    assert refused.value.field == "photo"


def test_a_pdf_is_refused_where_only_images_are_accepted() -> None:
    with pytest.raises(ValidationFailed):
        upload_store(SimpleUploadedFile("a.pdf", PDF), field="photo", accept=["image"])


def test_files_over_the_limit_are_refused_and_leave_nothing(settings: Any) -> None:
    settings.LINLI_UPLOAD_MAX_MB = 1
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * (1024 * 1024))
    with pytest.raises(ValidationFailed) as refused:
        upload_store(big, field="photo")
    assert refused.value.code == CatalogueErrorCode.FILE_TOO_LARGE
    assert [p for p in Path(settings.DATA_DIR).rglob("*") if p.is_file()] == []


def test_stored_by_hash_under_data_dir_and_removable(settings: Any) -> None:
    stored = upload_store(SimpleUploadedFile("../../etc/扫描件.pdf", PDF), field="m")
    path = Path(settings.DATA_DIR) / "files" / "applications" / stored.name
    assert path.read_bytes() == PDF
    assert stored.original_name == "扫描件.pdf"
    assert path.name == f"{stored.sha256}.pdf"
    again = upload_store(SimpleUploadedFile("copy.pdf", PDF), field="m")
    # the same content again is not a new file, so undoing the second upload keeps the first
    assert again.created is False
    upload_remove([again])
    assert path.exists()
    upload_remove([stored])
    assert not path.exists()


def test_a_file_is_served_only_to_people_who_may_see_the_application(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    # given an application of community A with a scanned ID
    app, _ = application_submit(actor=cat_users.resident, version=publish(), applicant=None, data=valid_data(),
                                files={"photo": [SimpleUploadedFile("id.png", PNG)]}, channel="online",
                                community=tree.community_a)
    file_id = ApplicationFile.objects.get(application=app).pk
    # when / then: the applicant and the community's clerk can read it
    for user in (cat_users.resident, cat_users.base.community_a):
        row, handle = application_file_open_for_user(user=user, file_id=file_id)
        with handle:
            assert handle.read() == PNG
        assert row.content_type == "image/png"
    # and another community, another resident, a grid worker and anonymous cannot
    outsiders: list[Any] = [cat_users.base.community_b, cat_users.resident_other, cat_users.base.grid_worker_a1, None]
    for user in outsiders:
        with pytest.raises(NotFound):
            application_file_open_for_user(user=user, file_id=file_id)
