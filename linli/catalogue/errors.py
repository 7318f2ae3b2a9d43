"""Errors of the catalogue: codes beside the core ones, and a 409 for stale writes."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise

from linli.catalogue.choices import CatalogueErrorCode
from linli.core.errors import ApplicationError

__all__ = ["ApplicationConflict", "CatalogueErrorCode"]


class ApplicationConflict(ApplicationError):  # noqa: N818 -- reads as a sentence
    """Someone else changed the application first; ``extra`` carries its current status and
    the actions still open, so the UI can refresh instead of overwriting."""

    status = 409

    def __init__(self, message: str | Promise, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(CatalogueErrorCode.CONFLICT, message, field="version", extra=extra)
