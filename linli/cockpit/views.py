"""Emergency mode pages: draw an area, start an incident, check households, watch the board.

Views parse input, call one selector or service and render. The board refreshes itself by
htmx polling every two seconds; the cockpit's alarm card also listens to the live event
stream of ``linli live`` (linli/cockpit/live.py) and polls only while it is closed.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.http.request import split_domain_port
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from linli.accounts.access import StaffRequest, request_id_of, staff_view
from linli.accounts.choices import Permission, Role
from linli.accounts.selectors import scope_for
from linli.cockpit import selectors, services, workflow
from linli.cockpit.choices import MARK_STATES, CheckState
from linli.cockpit.export import incident_report_xlsx
from linli.cockpit.live import LIVE_PATH
from linli.cockpit.models import Incident
from linli.core.errors import ValidationFailed
from linli.core.middleware import content_security_policy
from linli.geo.models import Area

operator_required = staff_view(selectors.OPERATOR_ROLES)
staff_required = staff_view()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _map_context() -> dict[str, Any]:
    # Tiles, their system and the legend come with the shared base map ({% basemap_attrs %}).
    return {"has_leaflet": finders.find("vendor/leaflet/leaflet.js") is not None}


def _grid_shapes(request: StaffRequest) -> list[dict[str, Any]]:
    scope = scope_for(request.user)
    return [{"id": pk, "name": name, "boundary": boundary}
            for pk, name, boundary in Area.objects.filter(pk__in=sorted(scope.grid_ids), boundary__isnull=False)
            .order_by("code").values_list("id", "name", "boundary")]


@operator_required
@require_GET
def emergency(request: StaffRequest) -> HttpResponse:
    incidents = list(selectors.incident_list_for_user(user=request.user)[:20])
    return render(request, "cockpit/emergency.html", {
        **_map_context(), "incidents": incidents,
        "map_data": {"buildings": selectors.map_buildings_for_user(user=request.user),
                     "grids": _grid_shapes(request)},
    })


def _request_shape(request: StaffRequest) -> tuple[object, list[int] | None]:
    """``{"shape": …}`` or ``{"buildings": [ids]}`` from a JSON body or a form field."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise ValidationFailed("shape", _("请求内容不是有效的 JSON")) from None
    else:
        body = {}
        for key in ("shape", "buildings"):
            raw = request.POST.get(key, "")
            if raw:
                try:
                    body[key] = json.loads(raw)
                except ValueError:
                    raise ValidationFailed(key, _("请求内容不是有效的 JSON")) from None
    if not isinstance(body, dict):
        raise ValidationFailed("shape", _("请先在地图上画出范围"))
    picked = body.get("buildings")
    if picked is not None:
        if not isinstance(picked, list) or not all(isinstance(i, int) for i in picked):
            raise ValidationFailed("buildings", _("楼栋应为编号列表"))
        return None, picked
    return body.get("shape"), None


# One row per household, columns named once: the answer for 5,000 residents stays small.
HOUSEHOLD_COLUMNS = list(selectors.SCREEN_COLUMNS)
MEMBER_COLUMNS = list(selectors.SCREEN_MEMBER_COLUMNS)
_COMPACT = {"ensure_ascii": False, "separators": (",", ":")}


def _roster_json(roster: selectors.RosterScreen) -> bytes:
    """The answer's JSON, the households' rows joined as the digests stored them (decoding
    and encoding them again was most of a first screen's time)."""
    head = json.dumps({
        "households": roster.households, "residents": roster.residents, "vulnerable": roster.vulnerable,
        "offset": roster.offset, "next_offset": roster.next_offset,
        "buildings": [{
            "id": b.pk, "address": b.address, "lon": b.lon, "lat": b.lat,
            "worker": roster.worker_names.get(b.grid_id),
        } for b in roster.buildings],
        "columns": HOUSEHOLD_COLUMNS, "member_columns": MEMBER_COLUMNS,
    }, **_COMPACT)  # type: ignore[arg-type]
    return f'{head[:-1]},"rows":[{",".join(roster.rows)}]}}'.encode()


def _page_arguments(request: StaffRequest) -> tuple[int, int]:
    """``offset`` and ``limit`` from the query string (the body carries the shape)."""
    values = []
    for key, default in (("offset", 0), ("limit", selectors.ROSTER_PAGE)):
        raw = request.GET.get(key, "")
        try:
            values.append(int(raw) if raw else default)
        except ValueError:
            raise ValidationFailed(key, _("应为整数")) from None
    return values[0], values[1]


@operator_required
@never_cache
@require_POST
def emergency_roster(request: StaffRequest, fmt: str = "html") -> HttpResponse:
    """The households in the posted area: an HTML fragment for the page, JSON for programs."""
    try:
        shape, picked = _request_shape(request)
        if fmt == "json":
            offset, limit = _page_arguments(request)
            screen = selectors.area_roster_screen_for_user(user=request.user, shape=shape, building_ids=picked,
                                                           offset=offset, limit=limit)
            return HttpResponse(_roster_json(screen), content_type="application/json")
        roster = selectors.area_roster_for_user(user=request.user, shape=shape, building_ids=picked)
    except ValidationFailed as error:
        if fmt == "json":
            return JsonResponse(error.as_dict(), status=400)
        return render(request, "cockpit/_roster_error.html", {"error": error}, status=400)
    return render(request, "cockpit/_roster.html", {
        "roster": roster, "labels": workflow.KIND_LABELS,
        "can_reveal": scope_for(request.user).can(Permission.REVEAL_PII),
    })


@operator_required
@require_POST
def reveal_phone(request: StaffRequest) -> HttpResponse:
    try:
        person_id = int(request.POST.get("person", ""))
    except ValueError:
        return HttpResponse(_("人员编号无效"), status=400)
    try:
        phone = services.resident_phone_reveal(actor=request.user, person_id=person_id,
                                               reason=request.POST.get("reason", ""),
                                               request_id=request_id_of(request))
    except ValidationFailed as error:
        return render(request, "cockpit/_reveal.html", {"error": error.message, "person_id": person_id},
                      status=400)
    return render(request, "cockpit/_reveal.html", {"phone": phone, "person_id": person_id})


@operator_required
@require_POST
def incident_start(request: StaffRequest) -> HttpResponse:
    try:
        shape, picked = _request_shape(request)
        incident = services.incident_start(actor=request.user, title=request.POST.get("title", ""), shape=shape,
                                           building_ids=picked, request_id=request_id_of(request))
    except ValidationFailed as error:
        messages.error(request, error.message)
        return redirect("cockpit:emergency")
    return redirect("cockpit:incident", incident_id=incident.pk)


def _board_context(incident: Incident) -> dict[str, Any]:
    board = selectors.incident_board(incident=incident)
    minutes, seconds = divmod(board.elapsed_seconds, 60)
    return {"board": board, "incident": incident, "elapsed": f"{minutes:02d}:{seconds:02d}",
            "states": [(value, label, board.by_state.get(value, 0)) for value, label in CheckState.choices]}


@staff_required
@never_cache
@require_GET
def incident_page(request: StaffRequest, incident_id: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, incident_id=incident_id)
    if request.user.role == Role.GRID_WORKER:
        return redirect("cockpit:check", incident_id=incident.pk)
    return render(request, "cockpit/incident.html", {
        **_board_context(incident), **_map_context(),
        "is_operator": request.user.role in selectors.OPERATOR_ROLES,
        "map_data": {"polygon": incident.polygon},
    })


@staff_required
@never_cache
@require_GET
def incident_board(request: StaffRequest, incident_id: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, incident_id=incident_id)
    return render(request, "cockpit/_board.html", _board_context(incident))


@staff_required
@never_cache
@require_GET
def incident_check(request: StaffRequest, incident_id: int) -> HttpResponse:
    """The grid worker's phone page: their households, the vulnerable first, one tap per result."""
    incident = selectors.incident_get_for_user(user=request.user, incident_id=incident_id)
    rows = selectors.incident_households_for_worker(incident=incident, user=request.user)
    return render(request, "cockpit/check.html", {
        "incident": incident, "rows": rows, "labels": workflow.KIND_LABELS,
        "mark_states": [(s, CheckState(s).label) for s in MARK_STATES],
        "done": sum(r.state != CheckState.PENDING for r in rows),
    })


@staff_required
@require_POST
def incident_mark(request: StaffRequest, incident_id: int, item_id: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, incident_id=incident_id)
    item = selectors.incident_household_get_for_user(user=request.user, incident=incident, item_id=item_id)
    try:
        services.incident_household_mark(actor=request.user, item=item, state=request.POST.get("state", ""),
                                         note=request.POST.get("note", ""), request_id=request_id_of(request))
    except ValidationFailed as error:
        messages.error(request, error.message)
    return redirect(reverse("cockpit:check", kwargs={"incident_id": incident.pk}) + f"#item-{item.pk}")


@operator_required
@require_POST
def incident_close(request: StaffRequest, incident_id: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, incident_id=incident_id)
    try:
        services.incident_close(actor=request.user, incident=incident, summary=request.POST.get("summary", ""),
                                request_id=request_id_of(request))
    except ValidationFailed as error:
        messages.error(request, error.message)
        return redirect("cockpit:incident", incident_id=incident.pk)
    return redirect("cockpit:report", incident_id=incident.pk)


@operator_required
@require_GET
def incident_report(request: StaffRequest, incident_id: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, incident_id=incident_id)
    services.incident_export_record(actor=request.user, incident=incident, kind="report",
                                    request_id=request_id_of(request))
    return render(request, "cockpit/report.html", {
        **_board_context(incident), "rows": selectors.incident_report_rows(incident=incident),
        "labels": workflow.KIND_LABELS,
    })


@operator_required
@require_GET
def incident_report_download(request: StaffRequest, incident_id: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, incident_id=incident_id)
    services.incident_export_record(actor=request.user, incident=incident, kind="xlsx",
                                    request_id=request_id_of(request))
    body = incident_report_xlsx(selectors.incident_board(incident=incident),
                                selectors.incident_report_rows(incident=incident))
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="incident-{incident.pk}.xlsx"'
    return response


@operator_required
@require_GET
def incident_cap(request: StaffRequest, incident_id: int) -> HttpResponse:
    """The area as a CAP 1.2 alert (no personal data: the area and the event only)."""
    incident = selectors.incident_get_for_user(user=request.user, incident_id=incident_id)
    services.incident_export_record(actor=request.user, incident=incident, kind="cap",
                                    request_id=request_id_of(request))
    host = request.get_host().split(":")[0] or "linli"
    ring = [(float(lon), float(lat)) for lon, lat in incident.polygon["coordinates"][0]]
    body = workflow.cap_alert_xml(workflow.CapAlert(
        identifier=f"linli-{host}-incident-{incident.pk}", sender=f"linli@{host}",
        sent=timezone.localtime(incident.started_at), event=incident.title, headline=incident.title,
        area_desc=f"{incident.area.name} {incident.title}", ring=ring,
        sender_name=incident.area.name,
        msg_type="Alert" if incident.is_open else "Update",
    ))
    response = HttpResponse(body, content_type="application/cap+xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="incident-{incident.pk}-cap.xml"'
    return response


@staff_required
@require_GET
def tasks(request: StaffRequest) -> HttpResponse:
    if request.user.role != Role.GRID_WORKER and request.user.role not in selectors.OPERATOR_ROLES:
        raise PermissionDenied
    return render(request, "cockpit/tasks.html", {"tasks": selectors.tasks_for_worker(user=request.user)})


@operator_required
@never_cache
@require_GET
def cockpit(request: StaffRequest) -> HttpResponse:
    """The wall screen (数字驾驶舱): KPIs, trends and one map, for the caller's area."""
    data = selectors.cockpit_for_user(user=request.user)
    live_url, live_source = _live_stream(request)
    response = render(request, "cockpit/cockpit.html", {
        **_map_context(), "data": data,
        "has_echarts": finders.find("vendor/echarts/echarts.min.js") is not None,
        "map_data": data.layers, "trend": data.trend, "live_url": live_url,
    })
    if live_source:
        # The stream on another port of this host (linli demo): allowed for this page only.
        response["Content-Security-Policy"] = content_security_policy().replace(
            "connect-src 'self'", f"connect-src 'self' {live_source}")
    return response


def _live_stream(request: StaffRequest) -> tuple[str, str]:
    """The URL of the live event stream (``linli live``) and, when it is not this origin, the
    CSP source the page must allow. Behind nginx (HTTPS, or LINLI_LIVE_URL set) it is this
    origin's ``/live/cockpit/``; without a proxy, this host on ``LINLI_LIVE_PORT``. ``off``: a
    site without ``linli live`` (the card polls, and the browser logs no refused stream)."""
    if settings.LINLI_LIVE_URL == "off":
        return "", ""
    if settings.LINLI_LIVE_URL:
        return settings.LINLI_LIVE_URL, ""
    if request.is_secure():
        return LIVE_PATH, ""
    host, _port = split_domain_port(request.get_host())
    if not host:
        return "", ""
    source = f"{host}:{settings.LINLI_LIVE_PORT}"
    return f"//{source}{LIVE_PATH}", source


@operator_required
@never_cache
@require_GET
def grid_drill(request: StaffRequest, grid_id: int) -> HttpResponse:
    """A clicked grid's figures (htmx fragment beside the map), with links to the scoped lists."""
    drill = selectors.grid_drill_for_user(user=request.user, grid_id=grid_id)
    return render(request, "cockpit/_grid_drill.html", {"drill": drill})


@operator_required
@never_cache
@require_GET
def live_alarms(request: StaffRequest) -> HttpResponse:
    """Open device alarms (htmx fragment polled by the cockpit; its map redraws from the same rows)."""
    alarms = selectors.live_alarms_for_user(user=request.user)
    points = [{"id": a.id, "level": a.level, "kind": a.kind, "grid": a.grid, "lon": a.lon, "lat": a.lat}
              for a in alarms if a.lon is not None and a.lat is not None]
    return render(request, "cockpit/_alarms.html", {"alarms": alarms[:20], "total": len(alarms), "points": points})
