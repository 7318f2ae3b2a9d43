"""One error type for the whole project, mapped to API and UI responses in one place.

Services raise :class:`ApplicationError` with a code from an app's enum; the API turns it
into ``{"code", "message", "field"}`` and the UI into a form error. ``NotFound`` is used for
objects outside the caller's scope as well, so existence never leaks.
"""

from __future__ import annotations

import enum
from typing import Any

from django.utils.functional import Promise


class ErrorCode(enum.StrEnum):
    """Codes shared by every app; apps add their own StrEnum beside this one."""

    INVALID = "invalid"
    NOT_FOUND = "not_found"
    PERMISSION_DENIED = "permission_denied"
    CONFLICT = "conflict"
    LOCKED_OUT = "locked_out"
    THROTTLED = "throttled"
    UNAUTHENTICATED = "unauthenticated"


class ApplicationError(Exception):
    """A refusal the caller can act on: a code, a human message and optionally the field."""

    status = 400

    def __init__(
        self,
        code: str,
        message: str | Promise,
        *,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.code = str(code)
        self.message = str(message)
        self.field = field
        self.extra = extra or {}

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message, "field": self.field}
        body.update(self.extra)
        return body


class ValidationFailed(ApplicationError):  # noqa: N818 -- public name used project-wide
    """Input that breaks a rule; ``field`` names the culprit."""

    def __init__(self, field: str, message: str | Promise, *, code: str = ErrorCode.INVALID) -> None:
        super().__init__(code, message, field=field)


class NotFound(ApplicationError):  # noqa: N818 -- reads as a sentence: raise NotFound
    """Unknown, or outside the caller's scope: the two are never told apart."""

    status = 404

    def __init__(self, message: str | Promise = "not found") -> None:
        super().__init__(ErrorCode.NOT_FOUND, message)


class PermissionDenied(ApplicationError):  # noqa: N818 -- mirrors Django's name
    """The caller may see the object but lacks the permission for this action."""

    status = 403

    def __init__(self, message: str | Promise = "permission denied") -> None:
        super().__init__(ErrorCode.PERMISSION_DENIED, message)
