"""The grid worker's phone pages (namespace ``field``), mounted at ``/field/``.

Pages are server-rendered and small; every write goes through the phone's queue
(``static/field/app.js``) to :func:`sync`, online or not, so there is one code path.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from linli.accounts.access import StaffRequest, staff_view
from linli.accounts.models import User
from linli.care.choices import VISIT_FINDINGS
from linli.cases import selectors as case_selectors
from linli.cases.services import MAX_PHOTO_BYTES
from linli.cockpit import selectors as cockpit_selectors
from linli.cockpit.choices import MARK_STATES, CheckState
from linli.core.errors import ApplicationError, ValidationFailed
from linli.devices import selectors as device_selectors
from linli.field import selectors, services, workflow
from linli.field.choices import CorrectionTarget
from linli.fusion import selectors as fusion_selectors

worker_view = staff_view(selectors.FIELD_ROLES)
clerk_view = staff_view(selectors.CLERK_ROLES)
any_staff = staff_view()
MAX_SYNC_PHOTOS = 9
# Minutes without a touch before the app locks (only where the worker set a PIN).
LOCK_MINUTES = 5
# The statistics page's period.
STATISTICS_DAYS = 30


def _page(request: StaffRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, {"field_lock_minutes": LOCK_MINUTES, **context})


@require_GET
@ensure_csrf_cookie
@worker_view
def today(request: StaffRequest) -> HttpResponse:
    data = selectors.today_for_user(user=request.user)
    # The pages the phone keeps for offline use; the shell pages come with the service worker.
    return _page(request, "field/today.html", {"today": data, "precache": data.urls})


@require_GET
@worker_view
def case_page(request: StaffRequest, case_id: int) -> HttpResponse:
    case = selectors.case_for_worker(user=request.user, case_id=case_id)
    return _page(
        request,
        "field/case.html",
        {
            "case": case,
            "actions": selectors.case_actions(user=request.user, case=case),
            "photos": case_selectors.case_photos(case=case),
        },
    )


@require_GET
@worker_view
def person_page(request: StaffRequest, person_id: int) -> HttpResponse:
    card = selectors.person_card_for_user(user=request.user, person_id=person_id)
    return _page(request, "field/person.html", {"card": card})


@require_GET
@worker_view
def visit_page(request: StaffRequest, person_id: int) -> HttpResponse:
    card = selectors.person_card_for_user(user=request.user, person_id=person_id)
    findings = [
        (key, str(label), [(value, str(text)) for value, text in answers])
        for key, (label, answers) in VISIT_FINDINGS.items()
    ]
    return _page(request, "field/visit.html", {"card": card, "findings": findings})


@require_GET
@worker_view
def verify_page(request: StaffRequest, task_id: int) -> HttpResponse:
    task = fusion_selectors.verification_task_get_for_user(user=request.user, task_id=task_id)
    return _page(
        request,
        "field/verify.html",
        {
            "task": task,
            "where": selectors.person_where(task.person),
            "field_label": selectors.field_label(task.field),
        },
    )


@require_GET
@worker_view
def alarm_page(request: StaffRequest, alarm_id: int) -> HttpResponse:
    alarm = device_selectors.alarm_get_for_user(user=request.user, alarm_id=alarm_id)
    device = alarm.device
    return _page(
        request,
        "field/alarm.html",
        {"alarm": alarm, "where": selectors.where_of(building=device.building, room=device.room)},
    )


@require_GET
@worker_view
def incident_page(request: StaffRequest, incident_id: int) -> HttpResponse:
    incident = cockpit_selectors.incident_get_for_user(user=request.user, incident_id=incident_id)
    rows = cockpit_selectors.incident_households_for_worker(incident=incident, user=request.user)
    states = [(state, str(CheckState(state).label)) for state in MARK_STATES]
    return _page(
        request, "field/incident.html", {"incident": incident, "rows": rows, "states": states}
    )


@require_GET
@worker_view
def report_page(request: StaffRequest) -> HttpResponse:
    categories = [
        {"id": child.pk, "name": child.name, "group": node.category.name}
        for node in case_selectors.category_tree()
        for child in node.children
    ]
    return _page(
        request,
        "field/report.html",
        {
            "categories": categories,
            "has_leaflet": finders.find("vendor/leaflet/leaflet.js") is not None,
            "map_config": {
                "tiles": settings.LINLI_MAP_TILE_URL,
                # GCJ-02 tiles (高德) get positions shifted at the map edge (web/basemap.js).
                "tile_crs": settings.LINLI_MAP_TILE_CRS,
                "nearest": reverse("field:nearest"),
            },
        },
    )


_TARGET_READERS: dict[str, Any] = {
    CorrectionTarget.PERSON: lambda user, pk: str(
        selectors.person_card_for_user(user=user, person_id=pk).person
    ),
    CorrectionTarget.HOUSEHOLD: lambda user, pk: str(
        selectors.household_for_worker(user=user, household_id=pk)
    ),
    CorrectionTarget.ROOM: lambda user, pk: selectors.where_of(
        building=None, room=selectors.room_for_worker(user=user, room_id=pk)
    ),
}


@require_GET
@worker_view
def correction_page(request: StaffRequest, target: str, target_id: int) -> HttpResponse:
    if target not in _TARGET_READERS:
        raise ValidationFailed("target", _("未知的更正对象"))
    label = _TARGET_READERS[target](request.user, target_id)
    fields = [(name, name) for name in workflow.CORRECTION_FIELDS[target]]
    return _page(
        request,
        "field/correct.html",
        {"target": target, "target_id": target_id, "label": label, "fields": fields},
    )


@require_GET
@ensure_csrf_cookie
@worker_view
def queue_page(request: StaffRequest) -> HttpResponse:
    return _page(request, "field/queue.html", {})


@require_GET
@worker_view
def patrol_page(request: StaffRequest) -> HttpResponse:
    since = timezone.now() - timedelta(days=30)
    return _page(
        request,
        "field/patrol.html",
        {
            "patrols": selectors.patrol_list_for_user(user=request.user),
            "totals": selectors.patrol_totals_for_user(user=request.user, since=since),
        },
    )


@require_GET
@any_staff
def patrol_detail(request: StaffRequest, patrol_id: int) -> HttpResponse:
    patrol = selectors.patrol_get_for_user(user=request.user, patrol_id=patrol_id)
    return _page(
        request,
        "field/patrol_detail.html",
        {
            "patrol": patrol,
            "has_leaflet": finders.find("vendor/leaflet/leaflet.js") is not None,
            "map_config": {
                "tiles": settings.LINLI_MAP_TILE_URL,
                # GCJ-02 tiles (高德) get positions shifted at the map edge (web/basemap.js).
                "tile_crs": settings.LINLI_MAP_TILE_CRS,
                "track": patrol.track,
            },
        },
    )


@require_GET
@never_cache
@any_staff
def patrol_tracks(request: StaffRequest) -> HttpResponse:
    """Patrol tracks as GeoJSON LineStrings (WGS-84) for the grid page's and the cockpit's
    maps: ``?days=N`` (1–31, default 1: today since midnight in Shanghai) and optionally
    ``&area=<id>`` (an area in the caller's scope; another area is 404). Staff who see no
    patrols get an empty collection, not a refusal: the map just has nothing to draw."""
    try:
        days = int(request.GET.get("days") or 1)
        area_id = int(request.GET["area"]) if request.GET.get("area") else None
    except ValueError:
        return _bad_request("days", _("参数格式不正确"))
    if not 1 <= days <= workflow.MAX_TRACK_DAYS:
        return _bad_request("days", _("天数应在 1 到 31 之间"))
    since = workflow.track_window_start(timezone.localdate(), days)
    patrols = selectors.patrol_tracks_for_user(user=request.user, since=since, area_id=area_id)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": line},
            "properties": {
                "id": p.pk,
                "worker": p.worker.display_name or p.worker.username,
                "grid": p.grid.name if p.grid else "",
                "started_at": timezone.localtime(p.started_at).isoformat(),
                "ended_at": timezone.localtime(p.ended_at).isoformat(),
                "minutes": round(p.seconds / 60),
                "distance_m": round(p.distance_m),
                "url": reverse("field:patrol-detail", args=[p.pk]),
            },
        }
        for p in patrols
        if len(line := workflow.track_line(p.track)) >= 2
    ]
    return JsonResponse(
        {
            "type": "FeatureCollection",
            "since": since.isoformat(),
            "days": days,
            "truncated": len(patrols) >= selectors.MAX_TRACKS,
            "features": features,
        },
        json_dumps_params={"ensure_ascii": False},
    )


def _bad_request(field: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"code": "validation", "message": message, "field": field},
        status=400,
        json_dumps_params={"ensure_ascii": False},
    )


@require_GET
@any_staff
def patrol_statistics(request: StaffRequest) -> HttpResponse:
    since = timezone.now() - timedelta(days=STATISTICS_DAYS)
    return _page(
        request,
        "field/patrol_statistics.html",
        {
            "days": STATISTICS_DAYS,
            "radius": round(workflow.COVERAGE_RADIUS_M),
            "totals": selectors.patrol_totals_for_user(user=request.user, since=since),
            "patrols": selectors.patrol_list_for_user(user=request.user, limit=50),
        },
    )


@require_GET
@worker_view
def pin_page(request: StaffRequest) -> HttpResponse:
    return _page(request, "field/pin.html", {"lock_minutes": LOCK_MINUTES})


@require_GET
def logout_page(request: HttpRequest) -> HttpResponse:
    # No login needed: the phone must be able to clear its data even after the session ended.
    return render(request, "field/logout.html", {})


@require_GET
@worker_view
def nearest(request: StaffRequest) -> JsonResponse:
    try:
        lon, lat = float(request.GET["lon"]), float(request.GET["lat"])
    except (KeyError, ValueError):
        return JsonResponse({"address": ""}, status=400)
    building = selectors.nearest_building(user=request.user, lon=lon, lat=lat)
    return JsonResponse(
        {
            "address": building.address if building else "",
            "building": building.pk if building else None,
        }
    )


@require_POST
def sync(request: HttpRequest) -> JsonResponse:
    """One queued write: ``key``, ``kind``, ``payload`` (JSON), ``made_at``, ``photos`` files."""
    user = request.user
    if not isinstance(user, User) or user.role not in selectors.FIELD_ROLES or not user.is_active:
        return JsonResponse(
            {"code": "unauthenticated", "message": _("请重新登录后再发送")}, status=401
        )
    try:
        payload = json.loads(request.POST.get("payload") or "{}")
        if not isinstance(payload, dict):
            raise ValueError
    except ValueError:
        return JsonResponse({"code": "invalid", "message": _("提交内容无效")}, status=400)
    photos = [
        upload.read(MAX_PHOTO_BYTES + 1)
        for upload in request.FILES.getlist("photos")[:MAX_SYNC_PHOTOS]
    ]
    made_at = services.parse_when(request.POST.get("made_at"))
    try:
        applied = services.submission_apply(
            actor=user,
            key=request.POST.get("key", ""),
            kind=request.POST.get("kind", ""),
            payload=payload,
            photos=photos,
            made_at=made_at,
        )
    except ApplicationError as error:
        return JsonResponse(
            {"code": error.code, "outcome": "refused", "message": error.message}, status=400
        )
    sub = applied.submission
    return JsonResponse(
        {
            "key": sub.key,
            "outcome": sub.outcome,
            "message": sub.message,
            "result": sub.result,
            "replayed": applied.replayed,
        }
    )


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    data = {
        "name": _("邻里网格员"),
        "short_name": _("网格员"),
        "lang": "zh-CN",
        "start_url": reverse("field:today"),
        "scope": reverse("field:today"),
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#b3261e",
        "icons": [
            {
                "src": static(f"field/icon-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any maskable",
            }
            for size in (192, 512)
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response


# The app shell kept at install; the map library comes after it (kept, but not counted as
# the shell's size in benchmarks/bench_field_shell.py).
SHELL_ASSETS = (
    "field/pin.js",
    "field/app.css",
    "field/app.js",
    "field/report.js",
    "field/patrol.js",
    "field/track.js",
    "field/icon-192.png",
)
# web/basemap.js carries the WGS-84 ⇄ GCJ-02 shift the field maps share with every other map.
MAP_ASSETS = ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "web/basemap.js")


def _assets() -> list[str]:
    return list(SHELL_ASSETS) + [name for name in MAP_ASSETS if finders.find(name)]


@functools.cache
def _shell_version() -> str:
    """A digest of the shell's files: a new release installs a new worker and cache."""
    digest = hashlib.sha256()
    for name in _assets():
        found = finders.find(name)
        if isinstance(found, str):
            digest.update(Path(found).read_bytes())
    return digest.hexdigest()[:12]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    shell = [
        reverse("field:today"),
        reverse("field:report"),
        reverse("field:queue"),
        reverse("field:patrol"),
        reverse("field:offline"),
    ] + [static(name) for name in _assets()]
    response = render(
        request,
        "field/sw.js",
        {"shell": json.dumps(shell), "version": json.dumps(_shell_version())},
        content_type="application/javascript",
    )
    # The browser checks for a new worker on each visit; never serve a stale one.
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = reverse("field:today")
    return response


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    return render(request, "field/offline.html", {})


@require_GET
@clerk_view
def corrections(request: StaffRequest) -> HttpResponse:
    return _page(
        request,
        "field/corrections.html",
        {"rows": selectors.correction_list_for_user(user=request.user)},
    )


@require_POST
@clerk_view
def correction_decide(request: StaffRequest, correction_id: int) -> HttpResponse:
    row = selectors.correction_get_for_user(user=request.user, correction_id=correction_id)
    services.correction_decide(
        actor=request.user, correction=row, accept=request.POST.get("decision") == "accept"
    )
    return redirect("field:corrections")
