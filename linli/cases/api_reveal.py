"""``POST /api/v1/cases/{id}/reveal``: the full callback phone of a case, audited.

A router of its own (mounted next to the cases router) so that the reveal sits with the
other PII code of the app rather than in the intake endpoints. Same rules as the person
reveal: staff only, the case in the caller's scope (else 404), the reveal permission and a
reason; the audit entry names the case and the reason, never the number.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from linli.accounts.auth import ApiKeyAuth, StaffSessionAuth
from linli.accounts.auth import principal_of as _principal
from linli.accounts.auth import request_id_of as _request_id
from linli.accounts.models import User
from linli.cases import selectors, services
from linli.core.errors import PermissionDenied
from linli.core.params import Id

# The key first, as in linli.cases.api: a key is refused here with 403, not a CSRF error.
router = Router(tags=["cases"], auth=[ApiKeyAuth(), StaffSessionAuth()])


class PhoneRevealIn(Schema):
    reason: str = Field(max_length=500)


class PhoneRevealOut(Schema):
    value: str


@router.post("/cases/{case_id}/reveal", response=PhoneRevealOut)
def case_phone_reveal(request: HttpRequest, case_id: Id, payload: PhoneRevealIn) -> dict[str, str]:
    principal = _principal(request)
    if not isinstance(principal, User):
        raise PermissionDenied(_("该接口仅供工作人员使用"))
    case = selectors.case_get_for_user(user=principal, case_id=case_id)
    value = services.case_phone_reveal(actor=principal, case=case, reason=payload.reason,
                                       request_id=_request_id(request))
    return {"value": value}
