"""Responses for files people uploaded (case and visit photos, report photos, materials).

Such a file is served only after its content was checked at upload, but it is still someone
else's bytes in our origin. So: an image type we accept is shown inline, in a sandbox with no
script, under a filename of our own; any other type (or a row whose stored type was tampered
with) is only ever a download. Never cached: the bytes are personal data.
"""

from __future__ import annotations

from typing import IO, Final

from django.http import FileResponse

INLINE_IMAGE_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/webp"})
_EXTENSIONS: Final = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf"}
_SANDBOX: Final = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def stored_file_response(handle: IO[bytes], *, content_type: str, filename: str,
                         download: bool = False) -> FileResponse:
    """``filename`` without a dot gets the extension of its type (``case-3-photo-7`` → ``….jpg``)."""
    inline = not download and content_type in INLINE_IMAGE_TYPES
    if "." not in filename:
        filename += _EXTENSIONS.get(content_type, "")
    response = FileResponse(handle, content_type=content_type if inline or download else "application/octet-stream",
                            as_attachment=not inline, filename=filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = _SANDBOX
    return response
