"""Device pages: devices with their state, registration and binding, the alarm feed and an
alarm's page (acknowledge, handle, false alarm), dead letters. Scoped by the selectors."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from linli.accounts.access import StaffRequest, request_id_of, staff_view
from linli.accounts.choices import Permission, Role
from linli.accounts.models import ApiKey
from linli.accounts.selectors import scope_for
from linli.accounts.services import api_key_authenticate
from linli.cases.services import MAX_PHOTO_BYTES
from linli.core.errors import ApplicationError, NotFound
from linli.devices import selectors, services, workflow
from linli.devices.choices import AlarmAction, DeadLetterReason, DeviceKind
from linli.devices.forms import AlarmActionForm, DeviceForm, DeviceImportForm
from linli.devices.importing import TEMPLATE_HEADER
from linli.fusion.readers import max_upload_bytes
from linli.geo.models import Area
from linli.registry.selectors import person_get_for_user, room_get_for_user

LIST_LIMIT = 200
device_staff = staff_view(roles=(Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN))
dead_letter_staff = staff_view(roles=(Role.STREET_STAFF, Role.DISTRICT_ADMIN))
ACTION_LABELS = {AlarmAction.ACKNOWLEDGE: _("确认"), AlarmAction.HANDLE: _("已处置"), AlarmAction.FALSE_ALARM: _("误报")}


@require_GET
@device_staff
def device_list(request: StaffRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    query = request.GET.get("q", "").strip()[:100]
    rows = list(selectors.device_list_for_user(
        user=request.user, status=status if status in selectors.STATUS_FILTERS else "",
        kind=kind if kind in DeviceKind.values else "", q=query)[:LIST_LIMIT + 1])
    return render(request, "devices/list.html", {
        "devices": rows[:LIST_LIMIT], "limit_reached": len(rows) > LIST_LIMIT, "status": status, "kind": kind,
        "query": query, "kinds": DeviceKind.choices, "counts": selectors.device_counts_for_user(user=request.user),
    })


@require_GET
@device_staff
def device_detail(request: StaffRequest, device_id: int) -> HttpResponse:
    device = selectors.device_get_for_user(user=request.user, device_id=device_id)
    return render(request, "devices/device.html", {
        "device": device, "readings": selectors.device_readings(device=device),
        "alarms": list(device.alarms.order_by("-raised_at")[:20]),
        "chart": selectors.device_chart(device=device),
        "has_echarts": finders.find("vendor/echarts/echarts.min.js") is not None,
    })


def _grid_choices(request: StaffRequest) -> list[tuple[int, str]]:
    grids = Area.objects.filter(pk__in=scope_for(request.user).grid_ids).order_by("code")
    return [(g.pk, g.name) for g in grids]


@require_http_methods(["GET", "POST"])
@device_staff
def device_register(request: StaffRequest) -> HttpResponseBase:
    grids = _grid_choices(request)
    initial = {"person": request.GET.get("person") or None}
    form = DeviceForm(request.POST or None, grids=grids, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person = person_get_for_user(user=request.user, person_id=data["person"]) if data["person"] else None
            room = room_get_for_user(user=request.user, room_id=data["room"]) if data["room"] else None
            if person is not None and room is None:
                room = person.room
            grid = Area.objects.filter(pk=int(data["grid"])).first() if data["grid"] else None
            device = services.device_register(
                actor=request.user, kind=data["kind"], external_id=data["external_id"], room=room, person=person,
                grid=grid, name=data["name"], vendor=data["vendor"], model=data["model"], spot=data["spot"],
                absence_hours=data["absence_hours"], request_id=request_id_of(request),
            )
        except NotFound:
            form.add_error("person" if data["person"] else "room", _("找不到该对象,或不在您的管辖范围内"))
        except ApplicationError as error:
            field = error.field if error.field in form.fields else None
            form.add_error(field, error.message)
        else:
            messages.success(request, _("设备已登记"))
            return redirect("devices:device", device_id=device.pk)
    return render(request, "devices/register.html", {"form": form})


@require_http_methods(["GET", "POST"])
@device_staff
def device_import(request: StaffRequest) -> HttpResponse:
    """Upload a device list (CSV/XLSX); all or nothing unless "keep the good rows" is ticked."""
    form = DeviceImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > max_upload_bytes():
            form.add_error("file", _("文件过大"))
        else:
            suffix = Path(upload.name or "").suffix.lower()
            with tempfile.NamedTemporaryFile(suffix=suffix if suffix in (".csv", ".xlsx") else "") as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
                handle.flush()
                try:
                    report = services.device_import(actor=request.user, path=handle.name,
                                                    keep_valid=form.cleaned_data["keep_valid"],
                                                    request_id=request_id_of(request))
                except ApplicationError as error:
                    form.add_error("file", error.message)
    return render(request, "devices/import.html", {
        "form": form, "report": report, "columns": TEMPLATE_HEADER,
    })


@require_GET
@device_staff
def alarm_list(request: StaffRequest) -> HttpResponse:
    state = "all" if request.GET.get("state") == "all" else "open"
    rows = list(selectors.alarm_list_for_user(user=request.user, state=state)[:LIST_LIMIT + 1])
    return render(request, "devices/alarms.html", {
        "alarms": rows[:LIST_LIMIT], "limit_reached": len(rows) > LIST_LIMIT, "state": state,
        "rates": selectors.false_alarm_rates_for_user(user=request.user),
    })


@require_http_methods(["GET", "POST"])
@device_staff
def alarm_detail(request: StaffRequest, alarm_id: int) -> HttpResponseBase:
    alarm = selectors.alarm_get_for_user(user=request.user, alarm_id=alarm_id)
    if request.method == "POST":
        form = AlarmActionForm(request.POST)
        if form.is_valid():
            try:
                services.alarm_transition(alarm=alarm, action=form.cleaned_data["action"], actor=request.user,
                                          note=form.cleaned_data["note"], request_id=request_id_of(request))
            except ApplicationError as error:
                messages.error(request, str(error.message))
            else:
                messages.success(request, _("已更新报警状态"))
        return redirect("devices:alarm", alarm_id=alarm.pk)
    actions = [(a, ACTION_LABELS[AlarmAction(a)]) for a in workflow.actions_from(alarm.status)]
    return render(request, "devices/alarm.html", {"alarm": alarm, "actions": actions})


@require_GET
@dead_letter_staff
def dead_letters(request: StaffRequest) -> HttpResponse:
    rows = list(selectors.dead_letter_list_for_user(user=request.user)[:LIST_LIMIT])
    counts = selectors.dead_letter_counts_for_user(user=request.user)
    return render(request, "devices/dead_letters.html", {
        "letters": rows, "counts": [(DeadLetterReason(k).label, v) for k, v in sorted(counts.items())],
    })


HOOK_MAX_BYTES = 256 * 1024  # beyond the adapters' limit, so an oversized event is still kept as a dead letter


def _hook_key(request: HttpRequest) -> ApiKey | None:
    """The integration key of a webhook call: ``X-API-Key``, ``Authorization: Bearer``, or
    HTTP Basic with the key as the password (what a camera's HTTP host settings can send)."""
    raw = request.headers.get("X-API-Key", "")
    auth = request.headers.get("Authorization", "")
    if not raw and auth[:7].lower() == "bearer ":
        raw = auth[7:].strip()
    elif not raw and auth[:6].lower() == "basic ":
        try:
            raw = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8").partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            raw = ""
    return api_key_authenticate(raw=raw) if raw else None


def _hook_parts(request: HttpRequest) -> tuple[bytes, bytes | None]:
    """A camera's ``multipart/form-data`` post: the event part (XML or JSON, a plain field or
    a file part such as ``MoveDetection.xml``) and the picture part (``image/jpeg``). The
    event is read up to the adapters' limit (+1, so an oversized one stays a dead letter);
    the picture up to the case photo limit, checked by its first bytes downstream."""
    event = b""
    picture = None
    for upload in (f for name in request.FILES for f in request.FILES.getlist(name)):
        kind = (upload.content_type or "").lower()
        if kind.startswith("image/"):
            picture = picture or upload.read(MAX_PHOTO_BYTES + 1)
        elif not event and ("xml" in kind or "json" in kind or (upload.name or "").lower().endswith((".xml", ".json"))):
            event = upload.read(HOOK_MAX_BYTES + 1)
    if not event:
        fields = (v for name in request.POST for v in request.POST.getlist(name))
        event = next((v.encode() for v in fields if v.strip()), b"")
    return event, picture


@csrf_exempt
@require_http_methods(["POST"])
def hikvision_hook(request: HttpRequest) -> HttpResponse:
    """Hikvision ISAPI alarm events (XML or JSON ``EventNotificationAlert``). 401 and
    nothing stored without a valid key; 403 for a key without ``cases.report``; 200 when
    applied (or a duplicate), 202 when kept as a dead letter."""
    key = _hook_key(request)
    if key is None:
        response = JsonResponse({"detail": "integration key required"}, status=401)
        response["WWW-Authenticate"] = 'Basic realm="linli"'
        return response
    if Permission.REPORT_CASES not in (key.scopes or []):
        return JsonResponse({"detail": "key lacks the cases.report scope"}, status=403)
    picture = None
    if request.content_type == "multipart/form-data":
        payload, picture = _hook_parts(request)
    else:
        # Read at most this much: a larger body is refused as oversized without holding it all.
        payload = request.read(HOOK_MAX_BYTES + 1)
    report = services.hikvision_receive(key=key, payload=payload, picture=picture)
    if report.dead_letters:
        return JsonResponse({"status": "dead_letter"}, status=202)
    return JsonResponse({"status": "duplicate" if report.duplicates else "accepted",
                         "alarms_raised": report.alarms_raised})
