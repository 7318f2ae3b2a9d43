"""The resident and the hall: answering the clerk's correction (补正) from the phone, the
decision with its document, appointments at a window. Reads from ``hall_selectors``, writes
through ``hall_services`` (the catalogue's own services underneath)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from linli.catalogue.choices import AppointmentStatus
from linli.catalogue.forms_schema import form_fields
from linli.catalogue.models import Application, ApplicationFile
from linli.catalogue.selectors import item_get
from linli.core.calendar import SHANGHAI
from linli.core.errors import ApplicationError, NotFound
from linli.portal import hall_selectors, hall_services
from linli.portal.views.access import ResidentRequest, request_id_of, resident_view

# --- answering a correction -------------------------------------------------------------------


def _shown_values(app: Application, fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The application's answers as the form shows them (ID numbers and phones masked)."""
    data = app.data or {}
    return {f["key"]: data[f["key"]] for f in fields if f["type"] != "upload" and f["key"] in data}


def _posted(
    post: QueryDict,
    uploads: MultiValueDict[str, Any],
    fields: list[dict[str, Any]],
    files_of: dict[str, list[ApplicationFile]],
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The corrected answers and the new uploads; an upload field keeps the files still ticked."""
    data: dict[str, Any] = {}
    files: dict[str, list[Any]] = {}
    for f in fields:
        key = f["key"]
        if f["type"] == "upload":
            own = {row.pk for row in files_of.get(key, [])}
            data[key] = [
                int(v) for v in post.getlist(f"keep_{key}") if v.isdigit() and int(v) in own
            ]
            if uploads.getlist(key):
                files[key] = uploads.getlist(key)
        elif f["type"] == "multiselect":
            data[key] = post.getlist(key)
        elif f["type"] == "boolean":
            data[key] = "true" if post.get(key) in {"true", "on", "1"} else "false"
        else:
            data[key] = post.get(key, "").strip()
    return data, files


@resident_view
@never_cache
@require_http_methods(["GET", "POST"])
def application_correct(request: ResidentRequest, application_id: int) -> HttpResponse:
    correction = hall_selectors.correction_for_user(
        user=request.user, application_id=application_id
    )
    app = correction.application
    version = app.item_version
    fields = list(form_fields(version.form))
    materials = {m["code"]: m for m in version.materials}
    files_of = {
        f["key"]: [row for row in correction.files if row.material_code == f.get("material")]
        for f in fields
        if f["type"] == "upload"
    }
    values = _shown_values(app, fields)
    error, status = "", 200
    if request.method == "POST":
        data, files = _posted(request.POST, request.FILES, fields, files_of)
        values.update(data)
        version_given = request.POST.get("version", "")
        try:
            hall_services.correction_submit(
                user=request.user,
                application_id=app.pk,
                data=data,
                files=files,
                expected_version=int(version_given) if version_given.isdigit() else None,
                request_id=request_id_of(request),
            )
        except NotFound:
            raise
        except ApplicationError as exc:
            if exc.code == "permission_denied":
                raise
            error, status = exc.message, 409 if exc.status == 409 else 400
        else:
            return redirect("portal:application", application_id=app.pk)
    return render(
        request,
        "portal/correct.html",
        {
            "application": app,
            "request_": correction.request,
            "fields": fields,
            "values": values,
            "files_of": files_of,
            "materials": materials,
            "error": error,
        },
        status=status,
    )


@resident_view
@never_cache
@require_http_methods(["GET"])
def application_decision(request: ResidentRequest, application_id: int) -> HttpResponse:
    """The decision document, printable; ``?download=1`` saves it as an HTML file."""
    app, document = hall_selectors.decision_document_for_user(
        user=request.user, application_id=application_id
    )
    response = render(request, "portal/decision.html", {"application": app, "doc": document})
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="decision-{app.number}.html"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- appointments ---------------------------------------------------------------------------


def _day(raw: str, days: list[date]) -> date:
    try:
        chosen = date.fromisoformat(raw)
    except ValueError:
        return days[0]
    return chosen if chosen in days else days[0]


def _slot_start(raw: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if timezone.is_aware(value) else value.replace(tzinfo=SHANGHAI)


@resident_view
@never_cache
@require_http_methods(["GET", "POST"])
def appointment_new(request: ResidentRequest, item_id: int) -> HttpResponse:
    """Pick a window of one's own community or street that takes the item, a day, a slot."""
    item = item_get(item_id=item_id)
    windows = hall_selectors.windows_for_user(user=request.user, item=item)
    source = request.POST if request.method == "POST" else request.GET
    wanted = source.get("window", "")
    window = next((w for w in windows if str(w.pk) == wanted), windows[0] if windows else None)
    days = hall_selectors.booking_days()
    day = _day(source.get("day", ""), days)
    error, status = "", 200
    if request.method == "POST" and window is not None:
        start = _slot_start(request.POST.get("slot", ""))
        try:
            if start is None:
                raise NotFound()
            appointment = hall_services.appointment_make(
                user=request.user,
                window_id=window.pk,
                slot_start=start,
                item=item,
                request_id=request_id_of(request),
            )
        except NotFound:
            error, status = _("请选择一个时段"), 400
        except ApplicationError as exc:
            if exc.code == "permission_denied":
                raise
            error, status = exc.message, 409 if exc.code in {"slot_full", "double_booking"} else 400
        else:
            return redirect(f"{reverse('portal:appointments')}?booked={appointment.pk}")
    return render(
        request,
        "portal/appointment_new.html",
        {
            "item": item,
            "windows": windows,
            "window": window,
            "days": days,
            "day": day,
            "slots": hall_selectors.open_slots(window=window, day=day)
            if window is not None
            else [],
            "error": error,
        },
        status=status,
    )


@resident_view
@never_cache
@require_http_methods(["GET"])
def appointments(request: ResidentRequest) -> HttpResponse:
    now = timezone.now()
    rows = list(hall_selectors.appointments_for_user(user=request.user)[:50])
    booked = request.GET.get("booked", "")
    return render(
        request,
        "portal/appointments.html",
        {
            "rows": [
                (a, a.status == AppointmentStatus.BOOKED and a.slot_start > now) for a in rows
            ],
            "booked": int(booked) if booked.isdigit() else None,
        },
    )


@resident_view
@require_POST
def appointment_cancel(request: ResidentRequest, appointment_id: int) -> HttpResponse:
    try:
        hall_services.appointment_withdraw(
            user=request.user, appointment_id=appointment_id, request_id=request_id_of(request)
        )
    except NotFound:
        raise
    except ApplicationError as exc:
        if exc.code == "permission_denied":
            raise
        # already cancelled, or checked in: the list shows it as it is
    return redirect("portal:appointments")
