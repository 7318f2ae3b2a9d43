"""Administration pages of the workbench (区级管理员): accounts and departments, the area
tree, dispatch rules, case categories with their deadlines, the halls' service windows.

Views parse a form, call one service and render; services decide who may do what (scope
and permission) and write the audit entry. A refusal naming a field is shown beside it;
"not yours" is a 404 and "not allowed" a 403, through ``staff_view``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from linli.accounts.access import StaffRequest, staff_view
from linli.accounts.choices import Role
from linli.core.errors import ApplicationError, ErrorCode, NotFound
from linli.web.access import MANAGE_ROLES

T = TypeVar("T")

# District administrators keep everything here (street staff read windows: MANAGE_ROLES).
admin_required = staff_view(roles={Role.DISTRICT_ADMIN})


def submit(form: forms.Form, call: Callable[[], T]) -> T | None:
    """Run a service call for a valid form; its refusal becomes an error on the form (beside
    the field it names) and ``None`` comes back. Not found / not allowed go on to the page's
    404 / 403."""
    try:
        return call()
    except NotFound:
        raise
    except ApplicationError as error:
        if error.code == ErrorCode.PERMISSION_DENIED:
            raise
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return None


@staff_view(roles=MANAGE_ROLES)
@require_GET
def index(request: StaffRequest) -> HttpResponse:
    return render(request, "web/manage/index.html", {"is_admin": request.user.role == Role.DISTRICT_ADMIN})
