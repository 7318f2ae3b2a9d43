"""Pure rules of the area tree: which parent a level takes, what its code looks like, and
what a usable boundary polygon is. No ORM here; services call these before writing.

Codes (CJ/T 349, Beijing DB11): a district has its 6-digit administrative code; a street
appends 3 digits to its district's code, a community 3 to its street's. A zone (片区, an
optional level between community and grid) appends 3 digits to its community's code, and
a grid appends 3 digits to its community's code as well, also when it sits under a zone.
So grid codes are always 15 digits and do not change when zones are introduced or
dropped; zones and grids of one community draw from the same 3-digit sequence (the unique
code keeps them apart; a block such as 9xx for zones is a good convention).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import shapely
from django.utils.translation import gettext as _
from shapely.validation import explain_validity

from linli.core.errors import ValidationFailed
from linli.geo.choices import ALLOWED_PARENT_LEVELS, AreaLevel

# Where a boundary may lie: mainland China with a margin (degrees, WGS-84).
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)

CODE_LENGTH: dict[int, int] = {
    AreaLevel.DISTRICT: 6,
    AreaLevel.STREET: 9,
    AreaLevel.COMMUNITY: 12,
    AreaLevel.ZONE: 15,
    AreaLevel.GRID: 15,
}
_SUFFIX_DIGITS = 3
_COMMUNITY_CODE_LENGTH = CODE_LENGTH[AreaLevel.COMMUNITY]


def parse_level(level: object) -> AreaLevel:
    """The level as :class:`AreaLevel`, or a refusal naming ``level``."""
    try:
        return AreaLevel(int(level))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValidationFailed("level", _("未知的区域层级")) from None


def validate_parent_level(*, level: AreaLevel, parent_level: int | None) -> None:
    """A district has no parent; every other level needs one of the allowed levels."""
    allowed = ALLOWED_PARENT_LEVELS[level]
    if parent_level is None:
        if allowed:
            raise ValidationFailed("parent", _("该层级的区域必须有上级区域"))
        return
    if parent_level not in allowed:
        raise ValidationFailed(
            "parent",
            _("%(level)s不能设在%(parent)s之下")
            % {"level": level.label, "parent": AreaLevel(parent_level).label},
        )


def expected_code_prefix(*, level: AreaLevel, parent_level: int | None, parent_code: str | None) -> str:
    """The digits a code must start with: the parent's code, or for a grid under a zone,
    the zone's community code (a zone's code begins with its community's)."""
    if parent_code is None:
        return ""
    if level == AreaLevel.GRID and parent_level == AreaLevel.ZONE:
        return parent_code[:_COMMUNITY_CODE_LENGTH]
    return parent_code


def validate_area_code(
    *, level: AreaLevel, code: str, parent_level: int | None, parent_code: str | None
) -> str:
    """The code, stripped, when it fits its level and parent; else a refusal naming ``code``."""
    code = code.strip() if isinstance(code, str) else ""
    length = CODE_LENGTH[level]
    if not (len(code) == length and code.isascii() and code.isdigit()):
        raise ValidationFailed(
            "code", _("%(level)s编码应为%(n)d位数字") % {"level": level.label, "n": length}
        )
    prefix = expected_code_prefix(level=level, parent_level=parent_level, parent_code=parent_code)
    if prefix and (len(prefix) + _SUFFIX_DIGITS != length or not code.startswith(prefix)):
        raise ValidationFailed(
            "code",
            _("编码应以上级编码%(prefix)s开头，再加3位数字") % {"prefix": prefix},
        )
    if code.endswith("000"):
        raise ValidationFailed("code", _("编码末3位不能为000"))
    return code


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _ring(ring: object, where: str) -> list[list[float]]:
    if not isinstance(ring, list) or len(ring) < 4:  # GeoJSON: closed ring of ≥ 4 positions
        raise ValidationFailed("boundary", _("%(where)s至少需要4个坐标点（首尾相同）") % {"where": where})
    out: list[list[float]] = []
    for position in ring:
        if not isinstance(position, list | tuple) or len(position) not in (2, 3):
            raise ValidationFailed("boundary", _("%(where)s的坐标应为[经度, 纬度]") % {"where": where})
        lon, lat = _number(position[0]), _number(position[1])
        if lon is None or lat is None:
            raise ValidationFailed("boundary", _("%(where)s含有非数字坐标") % {"where": where})
        if not (CHINA_LON[0] <= lon <= CHINA_LON[1] and CHINA_LAT[0] <= lat <= CHINA_LAT[1]):
            raise ValidationFailed(
                "boundary",
                _("坐标(%(lon)s, %(lat)s)超出中国范围（经度73–136，纬度3–54，WGS-84）")
                % {"lon": lon, "lat": lat},
            )
        out.append([lon, lat])
    if out[0] != out[-1]:
        raise ValidationFailed("boundary", _("%(where)s未闭合：首尾坐标必须相同") % {"where": where})
    return out


def _polygon(coords: object, where: str) -> list[list[list[float]]]:
    if not isinstance(coords, list) or not coords:
        raise ValidationFailed("boundary", _("%(where)s缺少外环坐标") % {"where": where})
    return [
        _ring(ring, where if i == 0 else _("%(where)s第%(n)d个内环") % {"where": where, "n": i})
        for i, ring in enumerate(coords)
    ]


def validate_boundary(boundary: object) -> dict[str, Any]:
    """A clean GeoJSON Polygon/MultiPolygon (2-D, floats) or a refusal naming ``boundary``.

    Checks the shape of the JSON, closed rings of at least 4 positions, every coordinate
    within China, and topological validity (no self-intersection, holes inside shells …)
    with GEOS's reason in the message.
    """
    if not isinstance(boundary, Mapping):
        raise ValidationFailed("boundary", _("边界应为GeoJSON对象"))
    kind = boundary.get("type")
    coords = boundary.get("coordinates")
    if kind == "Polygon":
        clean: dict[str, Any] = {"type": "Polygon", "coordinates": _polygon(coords, _("外环"))}
    elif kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise ValidationFailed("boundary", _("多边形集合不能为空"))
        clean = {
            "type": "MultiPolygon",
            "coordinates": [
                _polygon(part, _("第%(n)d个多边形") % {"n": i + 1}) for i, part in enumerate(coords)
            ],
        }
    else:
        raise ValidationFailed("boundary", _("边界类型应为Polygon或MultiPolygon"))
    geom = shapely.geometry.shape(clean)
    if not geom.is_valid:
        raise ValidationFailed(
            "boundary", _("边界多边形无效：%(reason)s") % {"reason": explain_validity(geom)}
        )
    if geom.area <= 0:
        raise ValidationFailed("boundary", _("边界面积为零"))
    return clean


def boundary_centroid(boundary: Mapping[str, Any]) -> tuple[float, float]:
    """A point guaranteed inside the polygon (for labels and map centring): lon, lat.

    The plain centroid may fall outside a concave or multi-part boundary; a representative
    point never does.
    """
    geom = shapely.geometry.shape(boundary)
    centroid = geom.centroid
    point = centroid if geom.contains(centroid) else geom.representative_point()
    return float(point.x), float(point.y)


def _line(coords: object, where: str) -> list[list[float]]:
    if not isinstance(coords, list) or len(coords) < 2:
        raise ValidationFailed("geometry", _("%(where)s至少需要2个坐标点") % {"where": where})
    out: list[list[float]] = []
    for position in coords:
        if not isinstance(position, list | tuple) or len(position) not in (2, 3):
            raise ValidationFailed("geometry", _("%(where)s的坐标应为[经度, 纬度]") % {"where": where})
        lon, lat = _number(position[0]), _number(position[1])
        if lon is None or lat is None:
            raise ValidationFailed("geometry", _("%(where)s含有非数字坐标") % {"where": where})
        if not (CHINA_LON[0] <= lon <= CHINA_LON[1] and CHINA_LAT[0] <= lat <= CHINA_LAT[1]):
            raise ValidationFailed(
                "geometry",
                _("坐标(%(lon)s, %(lat)s)超出中国范围（经度73–136，纬度3–54，WGS-84）")
                % {"lon": lon, "lat": lat},
            )
        out.append([lon, lat])
    return out


def validate_road_geometry(geometry: object) -> dict[str, Any]:
    """A clean GeoJSON LineString/MultiLineString (2-D, floats, within China) or a refusal
    naming ``geometry``: what a road of the base map may be."""
    if not isinstance(geometry, Mapping):
        raise ValidationFailed("geometry", _("线形应为GeoJSON对象"))
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "LineString":
        return {"type": "LineString", "coordinates": _line(coords, _("线"))}
    if kind == "MultiLineString":
        if not isinstance(coords, list) or not coords:
            raise ValidationFailed("geometry", _("线集合不能为空"))
        return {"type": "MultiLineString",
                "coordinates": [_line(part, _("第%(n)d条线") % {"n": i + 1}) for i, part in enumerate(coords)]}
    raise ValidationFailed("geometry", _("道路线形应为LineString或MultiLineString"))


def line_bbox(geometry: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """West, south, east, north of a clean LineString/MultiLineString."""
    coords = geometry["coordinates"]
    parts = [coords] if geometry["type"] == "LineString" else coords
    lons = [p[0] for part in parts for p in part]
    lats = [p[1] for part in parts for p in part]
    return min(lons), min(lats), max(lons), max(lats)
