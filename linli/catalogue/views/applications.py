"""Inboxes, the application page (pre-review, forwarding, decision) and file downloads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from linli.accounts.choices import Role
from linli.accounts.selectors import display_names
from linli.catalogue import workflow
from linli.catalogue.choices import ApplicationAction, ApplicationStatus
from linli.catalogue.errors import ApplicationConflict
from linli.catalogue.forms import InboxFilterForm, TransitionForm
from linli.catalogue.forms_schema import form_fields
from linli.catalogue.models import Application
from linli.catalogue.selectors import (
    application_file_open_for_user,
    application_files,
    application_get_for_user,
    application_list_for_user,
    application_timeline,
    overdue_filter,
)
from linli.catalogue.services import application_transition
from linli.catalogue.views.access import StaffRequest, request_id_of, staff_only
from linli.core.actors import actor_words
from linli.core.errors import ApplicationError, ValidationFailed
from linli.core.stored_files import stored_file_response

PAGE_SIZE = 50
# Files a browser may show inline; anything else is downloaded.


@dataclass(frozen=True)
class AnswerRow:
    """One answered field of the application, as shown to staff (masked where needed)."""

    label: str
    value: str
    type: str


def _is_overdue(app: Application, now: Any) -> bool:
    return app.is_open and (
        app.overdue_at is not None or (app.due_at is not None and app.paused_at is None and app.due_at < now)
    )


@staff_only
@require_GET
def inbox(request: StaffRequest) -> HttpResponse:
    """Applications in the user's scope: community staff see their communities', department
    staff those forwarded to their department."""
    form = InboxFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        status = form.cleaned_data["status"]
        if status and status != "all":
            filters["status"] = status
        elif not status:
            filters["open"] = True
        filters["overdue"] = form.cleaned_data["overdue"]
        filters["q"] = form.cleaned_data["q"]
    else:
        filters["open"] = True
    rows = application_list_for_user(user=request.user, filters=filters)
    if request.user.role != Role.DEPARTMENT_STAFF:
        rows = rows.exclude(status=ApplicationStatus.DRAFT) if filters.get("status") != ApplicationStatus.DRAFT \
            else rows
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    overdue_count = application_list_for_user(user=request.user, filters={}).filter(overdue_filter(now)).count()
    return render(request, "catalogue/inbox.html", {
        "form": form, "page": page, "now": now, "overdue_count": overdue_count,
        "rows": [(app, _is_overdue(app, now)) for app in page.object_list],
        "is_department": request.user.role == Role.DEPARTMENT_STAFF,
    })


def _status_label(status: str) -> str:
    return str(ApplicationStatus(status).label) if status in ApplicationStatus.values else status


def _answers(app: Application) -> list[AnswerRow]:
    data = app.data or {}
    rows = []
    for f in form_fields(app.item_version.form):
        if f["type"] == "upload" or f["key"] not in data:
            continue
        value = data[f["key"]]
        if f["type"] in {"select", "multiselect"}:
            labels = {o["value"]: o["label"] for o in f.get("options", [])}
            chosen = value if isinstance(value, list) else [value]
            value = "、".join(str(labels.get(v, v)) for v in chosen)
        elif f["type"] == "boolean":
            value = _("是") if value is True else _("否")
        rows.append(AnswerRow(label=f["label"], value=str(value), type=f["type"]))
    return rows


def _missing_choices(app: Application) -> list[tuple[str, str]]:
    """What a clerk may tick as missing: the item's materials, then the form's fields."""
    version = app.item_version
    choices = [(str(m["name"]), str(m["name"])) for m in version.materials]
    seen = {value for value, _label in choices}
    for f in form_fields(version.form):
        if f["type"] != "upload" and f["label"] not in seen:
            seen.add(f["label"])
            choices.append((str(f["label"]), str(f["label"])))
    return choices


def _role_allowed(app: Application, request: StaffRequest) -> list[str]:
    return workflow.allowed_actions(
        app.status, str(request.user.role), item_level=app.item_version.item.level,
        is_owner=app.submitted_by_id == request.user.pk,
    )


def _timeline(app: Application) -> list[tuple[Any, str, str]]:
    """Steps with the new status and the actor in words (a display name, "规则（秒批）")."""
    events = list(application_timeline(application=app))
    names = display_names([e.actor_id for e in events if e.actor_id is not None])
    return [(e, _status_label(e.to_status),
             names.get(e.actor_id, e.actor_label) if e.actor_id is not None else actor_words(e.actor_label))
            for e in events]


def _detail_context(request: StaffRequest, app: Application, form: TransitionForm | None = None) -> dict[str, Any]:
    allowed = _role_allowed(app, request)
    now = timezone.now()
    return {
        "app": app, "item": app.item_version.item, "version": app.item_version,
        "answers": _answers(app), "files": application_files(application=app),
        "timeline": _timeline(app),
        "allowed": allowed,
        "rule": app.rule_result, "overdue": _is_overdue(app, now),
        "missing_choices": _missing_choices(app),
        "form": form or TransitionForm(initial={"version": app.version}, missing_choices=_missing_choices(app)),
        "A": {a.name: a.value for a in ApplicationAction},
        "can_fill": app.status == ApplicationStatus.DRAFT and app.submitted_by_id == request.user.pk,
    }


@staff_only
@never_cache
@require_GET
def application_detail(request: StaffRequest, application_id: int) -> HttpResponse:
    app = application_get_for_user(user=request.user, application_id=application_id)
    return render(request, "catalogue/application_detail.html", _detail_context(request, app))


@staff_only
@require_POST
def application_act(request: StaffRequest, application_id: int) -> HttpResponse:
    """One workflow step from the application page (pre-review, forward, decide)."""
    app = application_get_for_user(user=request.user, application_id=application_id)
    form = TransitionForm(request.POST, missing_choices=_missing_choices(app))
    if not form.is_valid():
        return render(request, "catalogue/application_detail.html", _detail_context(request, app, form), status=422)
    action = form.cleaned_data["action"]
    try:
        application_transition(
            application=app, action=action, actor=request.user,
            expected_version=form.cleaned_data["version"], note=form.cleaned_data["note"],
            missing=form.missing_items() if action == ApplicationAction.RETURN_FOR_CORRECTION else None,
            request_id=request_id_of(request),
        )
    except ApplicationConflict as exc:
        messages.error(request, exc.message)
        return redirect("catalogue:application", application_id=app.pk)
    except ValidationFailed as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return render(request, "catalogue/application_detail.html", _detail_context(request, app, form), status=422)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("catalogue:application", application_id=app.pk)
    messages.success(request, _("已办理:%(action)s") % {"action": ApplicationAction(action).label})
    return redirect("catalogue:application", application_id=app.pk)


@staff_only
@never_cache
@require_GET
def application_file(request: StaffRequest, file_id: int) -> FileResponse:
    """A material, streamed only to people who may see the application (never a static URL)."""
    row, handle = application_file_open_for_user(user=request.user, file_id=file_id)
    # Always a download: a material is whatever a citizen uploaded, never rendered in our origin.
    return stored_file_response(handle, content_type=row.content_type, filename=row.original_name, download=True)
