"""Appointments at the window: day slots, booking on a resident's behalf, the daily queue."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linli.accounts.selectors import scope_for
from linli.catalogue.choices import AppointmentStatus
from linli.catalogue.forms import BookingForm, ChangeForm, DayForm
from linli.catalogue.models import ServiceWindow
from linli.catalogue.selectors import (
    appointment_get_for_user,
    daily_queue,
    item_get,
    window_get,
    window_list,
    window_slots,
)
from linli.catalogue.services import (
    appointment_book,
    appointment_cancel,
    appointment_change,
    appointment_check_in,
    appointment_serve,
)
from linli.catalogue.views.access import StaffRequest, request_id_of, window_only
from linli.core.errors import ApplicationError, NotFound
from linli.registry.selectors import person_get_for_user


def _my_window(request: StaffRequest, window_id: int) -> ServiceWindow:
    window = window_get(window_id=window_id)
    if window.community_id not in scope_for(request.user).area_ids:
        raise NotFound(_("窗口不存在"))
    return window


def _day_url(window: ServiceWindow, name: str, day: object) -> str:
    return f"{reverse(name, args=[window.pk])}?day={day}"


@window_only
@require_GET
def window_index(request: StaffRequest) -> HttpResponse:
    area_ids = scope_for(request.user).area_ids
    windows = [w for w in window_list() if w.community_id in area_ids]
    return render(request, "catalogue/windows.html", {"windows": windows, "today": timezone.localdate()})


@window_only
@never_cache
@require_http_methods(["GET", "POST"])
def window_day(request: StaffRequest, window_id: int) -> HttpResponse:
    """A day's slots with the seats left; staff book a seat for a resident."""
    window = _my_window(request, window_id)
    day = DayForm(request.GET).day_or_today()
    person_id = request.GET.get("person", "")
    person = person_get_for_user(user=request.user, person_id=int(person_id)) if person_id.isdigit() else None
    form = BookingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            booked_for = person_get_for_user(user=request.user, person_id=data["person"]) if data["person"] else None
            appointment = appointment_book(
                actor=request.user, window=window, slot_start=data["slot_start"], person=booked_for,
                name=data["name"], phone=data["phone"],
                item=item_get(item_id=data["item"]) if data["item"] else None,
                request_id=request_id_of(request),
            )
        except ApplicationError as exc:
            if isinstance(exc, NotFound):
                raise
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            local = timezone.localtime(appointment.slot_start)
            messages.success(request, _("已预约 %(when)s。") % {"when": f"{local:%Y-%m-%d %H:%M}"})
            return redirect(_day_url(window, "catalogue:window_day", local.date()))
    return render(request, "catalogue/window_day.html", {
        "window": window, "day": day, "slots": window_slots(window=window, day=day),
        "previous": day - timedelta(days=1), "next": day + timedelta(days=1),
        "form": form, "person": person, "items": list(window.items.order_by("code")),
        "now": timezone.now(),
    }, status=422 if request.method == "POST" else 200)


@window_only
@never_cache
@require_GET
def window_queue(request: StaffRequest, window_id: int) -> HttpResponse:
    window = _my_window(request, window_id)
    day = DayForm(request.GET).day_or_today()
    rows = daily_queue(user=request.user, window=window, day=day)
    return render(request, "catalogue/window_queue.html", {
        "window": window, "day": day, "rows": rows, "S": AppointmentStatus,
        "previous": day - timedelta(days=1), "next": day + timedelta(days=1),
        "slots": window_slots(window=window, day=day), "change_form": ChangeForm(),
    })


@window_only
@require_POST
def appointment_act(request: StaffRequest, appointment_id: int, action: str) -> HttpResponse:
    """Cancel, change, check in or serve one booking, then back to the queue of its day."""
    appointment = appointment_get_for_user(user=request.user, appointment_id=appointment_id)
    rid = request_id_of(request)
    try:
        if action == "cancel":
            appointment = appointment_cancel(actor=request.user, appointment=appointment, request_id=rid)
        elif action == "check-in":
            appointment = appointment_check_in(actor=request.user, appointment=appointment, request_id=rid)
        elif action == "serve":
            appointment = appointment_serve(actor=request.user, appointment=appointment, request_id=rid)
        elif action == "change":
            form = ChangeForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("请选择新的时段"))
            else:
                appointment = appointment_change(actor=request.user, appointment=appointment,
                                                 slot_start=form.cleaned_data["slot_start"], request_id=rid)
        else:
            raise NotFound
    except ApplicationError as exc:
        if isinstance(exc, NotFound):
            raise
        messages.error(request, exc.message)
    day = timezone.localtime(appointment.slot_start).date()
    return redirect(_day_url(appointment.window, "catalogue:window_queue", day))
