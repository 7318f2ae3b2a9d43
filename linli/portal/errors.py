"""The portal's refusals: one type per kind, mapped to pages in one place (views.portal_view)."""

from __future__ import annotations

from django.utils.functional import Promise

from linli.core.errors import ApplicationError
from linli.portal.choices import PortalErrorCode


class Throttled(ApplicationError):  # noqa: N818 -- reads as a sentence: raise Throttled
    """Too many attempts for this phone or this address: try again later."""

    status = 429

    def __init__(self, message: str | Promise) -> None:
        super().__init__(PortalErrorCode.THROTTLED, message)


class BadCode(ApplicationError):  # noqa: N818
    """Wrong, used or expired code (never told apart)."""

    def __init__(self, message: str | Promise) -> None:
        super().__init__(PortalErrorCode.BAD_CODE, message, field="code")
