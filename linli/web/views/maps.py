"""The shared base map's data (``/map/base.json``), the map picker's address lookup and the
offline tile file (``LINLI_MAP_TILES_FILE``).

The first two answer the logged-in staff member from their own areas
(``linli.registry.map_selectors``); the static module ``web/basemap.js`` draws the first,
``web/map-picker.js`` asks the second. Tiles hold no personal data: any signed-in user (staff,
grid worker, resident) may read them, and the browser may cache them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Literal

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from linli.accounts.choices import Permission
from linli.accounts.selectors import scope_for
from linli.geo.measure import bbox_parse
from linli.geo.selectors import tile_archive_configured
from linli.geo.tile_archive import TileArchive, byte_range, mbtiles_tile
from linli.registry.map_selectors import (
    BASEMAP_BBOX_MAX_DEG,
    NearestBuilding,
    basemap_for_user,
    nearest_building,
)
from linli.web.access import StaffRequest, staff_required

_JSON_OPTIONS = {"ensure_ascii": False, "separators": (",", ":")}


def bad_request(field: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"code": "validation_failed", "message": message, "field": field},
        status=400,
        json_dumps_params=_JSON_OPTIONS,
    )


@staff_required
@require_GET
def basemap(request: StaffRequest) -> HttpResponse:
    """Areas of the caller's scope; buildings and facilities too when ``bbox=w,s,e,n`` is given."""
    bbox = query_bbox(request)
    if bbox is False:
        return bad_request("bbox", _("地图范围无效或过大"))
    answer = basemap_for_user(user=request.user, bbox=bbox)
    if scope_for(request.user).can(Permission.VIEW_REGISTRY):
        # Building pages, for a click on the map: the id replaces the 0.
        answer["building_url"] = reverse("web:building", args=[0])
    response = JsonResponse(answer, json_dumps_params=_JSON_OPTIONS)
    response["Cache-Control"] = "private, max-age=60"
    return response


def query_bbox(request: HttpRequest) -> tuple[float, float, float, float] | Literal[False] | None:
    """``bbox=west,south,east,north`` of the query: ``None`` when absent, ``False`` when bad or
    larger than a base map answers (shared with the residents' map, portal.views.maps)."""
    raw = request.GET.get("bbox", "")
    if not raw:
        return None
    return bbox_parse(raw, max_side_deg=BASEMAP_BBOX_MAX_DEG) or False


def query_coordinate(request: HttpRequest, name: str, limit: float) -> float | None:
    try:
        value = float(request.GET.get(name, ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and -limit <= value <= limit else None


def nearest_answer(request: HttpRequest, find: Callable[[float, float], NearestBuilding | None]) -> JsonResponse:
    """The map picker's answer for ``lat``/``lon``: the nearest building ``find`` gives, in words."""
    lat, lon = query_coordinate(request, "lat", 90), query_coordinate(request, "lon", 180)
    if lat is None or lon is None:
        return bad_request("lat" if lat is None else "lon", _("位置无效"))
    found = find(lat, lon)
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


@staff_required
@require_GET
def nearest(request: StaffRequest) -> HttpResponse:
    """The caller's building nearest ``lat``/``lon``: the words a form shows instead of numbers."""
    return nearest_answer(request, lambda lat, lon: nearest_building(lat=lat, lon=lon, user=request.user))


TILE_CACHE = "private, max-age=86400"
_CHUNK = 64 * 1024


def _archive(request: HttpRequest, fmt: str) -> TileArchive:
    archive = tile_archive_configured(settings.LINLI_MAP_TILES_FILE)
    if archive is None or archive.format != fmt:
        raise Http404
    return archive


def _tile_response(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = TILE_CACHE
    response.linli_no_personal_data = True  # type: ignore[attr-defined]
    return response


def _file_bytes(path: object, start: int, end: int) -> Iterator[bytes]:
    with open(str(path), "rb") as handle:
        handle.seek(start)
        left = end - start + 1
        while left > 0:
            chunk = handle.read(min(_CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


@require_GET
def tile_archive(request: HttpRequest) -> HttpResponseBase:
    """The PMTiles file, one byte range at a time (HTTP Range, RFC 9110 §14): the browser's
    reader asks the header, then directories and tiles by range, never the whole file."""
    if not request.user.is_authenticated:
        return HttpResponse(status=403)
    archive = _archive(request, "pmtiles")
    stat = archive.path.stat()
    size = stat.st_size
    etag = f'"{size:x}-{int(stat.st_mtime):x}"'
    raw = request.headers.get("Range", "")
    if raw and request.headers.get("If-Range", etag) != etag:
        raw = ""  # the file changed since the client's first range: send it whole
    if not raw:
        response: HttpResponseBase = StreamingHttpResponse(_file_bytes(archive.path, 0, size - 1),
                                                       content_type="application/octet-stream")
        response["Content-Length"] = str(size)
    else:
        span = byte_range(raw, size)
        if span is None:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return _tile_response(response)
        start, end = span
        response = StreamingHttpResponse(_file_bytes(archive.path, start, end), status=206,
                                         content_type="application/octet-stream")
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    return _tile_response(response)


@require_GET
def tile(request: HttpRequest, z: int, x: int, y: int) -> HttpResponseBase:
    """One raster tile of the MBTiles file (``{z}/{x}/{y}``, XYZ rows); 404 where it has none."""
    if not request.user.is_authenticated:
        return HttpResponse(status=403)
    archive = _archive(request, "mbtiles")
    data = mbtiles_tile(archive, z, x, y)
    if data is None:
        raise Http404
    return _tile_response(HttpResponse(data, content_type=archive.content_type))
