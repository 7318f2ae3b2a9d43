"""Checking and storing uploaded materials.

The type is decided by the file's first bytes (JPEG, PNG, WebP, PDF), never by its name or
the browser's Content-Type. Files are stored content-addressed under
``DATA_DIR/files/applications/<yyyy>/<mm>/<sha256>.<ext>``, outside the web root; they are
written *before* the database transaction and removed again if it fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.catalogue.choices import CatalogueErrorCode
from linli.core.errors import ValidationFailed

DEFAULT_MAX_MB = 10
# accept keyword of a material → sniffed content types it admits.
ACCEPT_KINDS: dict[str, frozenset[str]] = {
    "image": frozenset({"image/jpeg", "image/png", "image/webp"}),
    "pdf": frozenset({"application/pdf"}),
}
EXTENSIONS: dict[str, str] = {
    "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf",
}


class UploadLike(Protocol):
    """Django's ``UploadedFile`` or anything with a name and chunks."""

    name: str | None

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class StoredUpload:
    """A checked file on disk; ``created`` is False when identical content was already there."""

    name: str  # path relative to the storage root
    original_name: str
    content_type: str
    size: int
    sha256: str
    created: bool


def max_upload_bytes() -> int:
    return int(getattr(settings, "LINLI_UPLOAD_MAX_MB", DEFAULT_MAX_MB)) * 1024 * 1024


def storage_root() -> Path:
    return Path(settings.DATA_DIR) / "files" / "applications"


def sniff_content_type(head: bytes) -> str | None:
    """The content type from magic bytes, or None for anything we do not accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def accepted_types(accept: Sequence[str] | None) -> frozenset[str]:
    kinds = accept or list(ACCEPT_KINDS)
    return frozenset().union(*(ACCEPT_KINDS.get(k, frozenset()) for k in kinds))


def _clean_original_name(name: str | None) -> str:
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    return "".join(ch for ch in base if ch.isprintable())[:255] or "file"


def upload_store(upload: UploadLike, *, field: str, accept: Sequence[str] | None = None) -> StoredUpload:
    """Check one upload (size, type by content) and store it; refusals name ``field``."""
    limit = max_upload_bytes()
    root = storage_root()
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".upload-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in upload.chunks():
                size += len(chunk)
                if size > limit:
                    raise ValidationFailed(
                        field, _("文件不能超过%(mb)sMB") % {"mb": limit // (1024 * 1024)},
                        code=CatalogueErrorCode.FILE_TOO_LARGE,
                    )
                if len(head) < 16:
                    head += chunk[: 16 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationFailed(field, _("文件为空"), code=CatalogueErrorCode.FILE_TYPE)
        content_type = sniff_content_type(head)
        if content_type is None or content_type not in accepted_types(accept):
            raise ValidationFailed(
                field, _("文件类型不符合要求(仅支持 JPG、PNG、WebP 图片或 PDF)"),
                code=CatalogueErrorCode.FILE_TYPE,
            )
        sha = digest.hexdigest()
        now = timezone.localtime()
        relative = f"{now:%Y}/{now:%m}/{sha}.{EXTENSIONS[content_type]}"
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        created = not target.exists()
        if created:
            os.replace(tmp, target)
        return StoredUpload(
            name=relative, original_name=_clean_original_name(upload.name), content_type=content_type,
            size=size, sha256=sha, created=created,
        )
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def upload_remove(stored: Iterable[StoredUpload]) -> None:
    """Undo :func:`upload_store` for files this request created (after a failed commit)."""
    root = storage_root()
    for item in stored:
        if item.created:
            with contextlib.suppress(FileNotFoundError):
                (root / item.name).unlink()


def open_stored(name: str) -> Any:
    """A binary file object of a stored upload (the caller has checked access)."""
    path = (storage_root() / name).resolve()
    if storage_root().resolve() not in path.parents:
        raise FileNotFoundError(name)
    return path.open("rb")
