"""Refusals of the cases app, carrying the case's state so the caller can recover.

Every refusal of a transition says ``code``, the case's current ``status``, its
``version`` and the ``allowed_actions`` of the caller (in ``extra``, so the API body has
them beside ``code``/``message``/``field``).
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise

from linli.core.errors import ApplicationError


class CaseRefused(ApplicationError):  # noqa: N818 -- reads as a sentence, like NotFound
    """The action does not apply to the case as it is now (HTTP 409)."""

    status = 409

    def __init__(
        self, code: str, message: str | Promise, *, status: str, version: int,
        allowed_actions: list[str], field: str | None = None, extra: dict[str, Any] | None = None,
    ) -> None:
        body = {"status": status, "version": version, "allowed_actions": allowed_actions}
        body.update(extra or {})
        super().__init__(code, message, field=field, extra=body)


class CaseForbidden(CaseRefused):
    """The caller's role (or handler binding) does not allow the action (HTTP 403)."""

    status = 403
