"""The shared base map's data (``/map/base.json``) and the map picker's address lookup.

Both answer the logged-in staff member from their own areas (``linli.registry.map_selectors``);
the static module ``web/basemap.js`` draws the first, ``web/map-picker.js`` asks the second.
"""

from __future__ import annotations

import math

from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from linli.accounts.choices import Permission
from linli.accounts.selectors import scope_for
from linli.geo.measure import bbox_parse
from linli.registry.map_selectors import BASEMAP_BBOX_MAX_DEG, basemap_for_user, nearest_building
from linli.web.access import StaffRequest, staff_required

_JSON_OPTIONS = {"ensure_ascii": False, "separators": (",", ":")}


def _bad(field: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"code": "validation_failed", "message": message, "field": field},
        status=400,
        json_dumps_params=_JSON_OPTIONS,
    )


@staff_required
@require_GET
def basemap(request: StaffRequest) -> HttpResponse:
    """Areas of the caller's scope; buildings and facilities too when ``bbox=w,s,e,n`` is given."""
    raw = request.GET.get("bbox", "")
    bbox = None
    if raw:
        bbox = bbox_parse(raw, max_side_deg=BASEMAP_BBOX_MAX_DEG)
        if bbox is None:
            return _bad("bbox", _("地图范围无效或过大"))
    answer = basemap_for_user(user=request.user, bbox=bbox)
    if scope_for(request.user).can(Permission.VIEW_REGISTRY):
        # Building pages, for a click on the map: the id replaces the 0.
        answer["building_url"] = reverse("web:building", args=[0])
    response = JsonResponse(answer, json_dumps_params=_JSON_OPTIONS)
    response["Cache-Control"] = "private, max-age=60"
    return response


def _coordinate(request: StaffRequest, name: str, limit: float) -> float | None:
    try:
        value = float(request.GET.get(name, ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and -limit <= value <= limit else None


@staff_required
@require_GET
def nearest(request: StaffRequest) -> HttpResponse:
    """The caller's building nearest ``lat``/``lon``: the words a form shows instead of numbers."""
    lat, lon = _coordinate(request, "lat", 90), _coordinate(request, "lon", 180)
    if lat is None or lon is None:
        return _bad("lat" if lat is None else "lon", _("位置无效"))
    found = nearest_building(lat=lat, lon=lon, user=request.user)
    if found is None:
        return JsonResponse(
            {"found": False, "text": _("附近没有登记的楼栋,请填写地址")},
            json_dumps_params=_JSON_OPTIONS,
        )
    return JsonResponse(
        {
            "found": True,
            "building_id": found.building_id,
            "label": found.label,
            "address": found.address,
            "distance_m": found.distance_m,
            "text": _("%(label)s附近(约 %(metres)s 米)")
            % {"label": found.label, "metres": round(found.distance_m)},
        },
        json_dumps_params=_JSON_OPTIONS,
    )
