"""Error codes of the fusion app, beside :class:`linli.core.errors.ErrorCode`."""

from __future__ import annotations

import enum

from django.utils.functional import Promise

from linli.core.errors import ApplicationError


class FusionErrorCode(enum.StrEnum):
    FILE_REFUSED = "fusion.file_refused"
    SOURCE_INVALID = "fusion.source_invalid"
    ALREADY_DECIDED = "fusion.already_decided"
    IMPORT_FAILED = "fusion.import_failed"


class FileRefused(ApplicationError):  # noqa: N818 -- reads as a sentence: raise FileRefused
    """An export refused before anything is written; ``field`` names what is wrong
    (``file``, ``encoding``, ``sheet``, ``columns``)."""

    def __init__(self, field: str, message: str | Promise) -> None:
        super().__init__(FusionErrorCode.FILE_REFUSED, message, field=field)
