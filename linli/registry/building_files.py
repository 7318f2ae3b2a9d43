"""Reading a building layer: a GeoJSON FeatureCollection of building outlines (Polygon) or
positions (Point), as a surveying office, 住建 or an OpenStreetMap extract gives it, with the
building's address and optionally its compound, name, floors and year. Pure: bytes in,
buildings and feature-numbered problems out; nothing is written here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import shapely.geometry
from django.utils.translation import gettext as _

from linli.core.errors import ApplicationError, ValidationFailed
from linli.geo.area_files import RowProblem, geojson_numbered_features
from linli.geo.workflow import CHINA_LAT, CHINA_LON, validate_boundary

# Property names accepted for each field, first the canonical one.
KEYS: dict[str, tuple[str, ...]] = {
    "address": ("address", "地址", "门牌地址", "楼栋地址", "addr:full"),
    "compound": ("compound", "小区", "小区名称"),
    "name": ("name", "楼栋", "楼栋名称", "楼号"),
    "floors": ("floors", "层数", "building:levels"),
    "built_year": ("built_year", "建成年份", "start_date"),
}


@dataclass(frozen=True)
class BuildingRow:
    """One building of the file: where it is, and its outline when the file has one."""

    where: str
    address: str
    compound: str
    name: str
    lon: float
    lat: float
    footprint: dict[str, Any] | None
    floors: int | None
    built_year: int | None


@dataclass
class BuildingFile:
    rows: list[BuildingRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def _pick(properties: dict[str, Any], name: str) -> str:
    for key in KEYS[name]:
        value = properties.get(key)
        if value not in (None, ""):
            return str(value).strip()
    return ""


def _whole_number(properties: dict[str, Any], name: str, low: int, high: int) -> int | None:
    text = _pick(properties, name)[:4] if name == "built_year" else _pick(properties, name)
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValidationFailed(name, _("应为%(low)d到%(high)d之间的整数") % {"low": low, "high": high})
    return int(text)


def _place(geometry: Any) -> tuple[float, float, dict[str, Any] | None]:
    """The position (the outline's representative point, inside it) and the outline."""
    if isinstance(geometry, dict) and geometry.get("type") == "Point":
        coords = geometry.get("coordinates")
        if not isinstance(coords, list) or len(coords) < 2:
            raise ValidationFailed("geometry", _("点坐标无效"))
        lon, lat = coords[0], coords[1]
        if not all(isinstance(v, int | float) for v in (lon, lat)) or not (
                CHINA_LON[0] <= lon <= CHINA_LON[1] and CHINA_LAT[0] <= lat <= CHINA_LAT[1]):
            raise ValidationFailed("geometry", _("坐标超出中国范围"))
        return float(lon), float(lat), None
    try:
        outline = validate_boundary(geometry)
    except ValidationFailed as error:
        raise ValidationFailed("geometry", error.message) from None
    if outline["type"] == "MultiPolygon":
        if len(outline["coordinates"]) != 1:
            raise ValidationFailed("geometry", _("一个楼栋只能有一个轮廓多边形"))
        outline = {"type": "Polygon", "coordinates": outline["coordinates"][0]}
    point = shapely.geometry.shape(outline).representative_point()
    return round(point.x, 7), round(point.y, 7), outline


def read_building_file(data: bytes) -> BuildingFile:
    """The buildings of a GeoJSON FeatureCollection; every feature needs an address."""
    file = BuildingFile()
    for where, properties, geometry in geojson_numbered_features(data, file.problems):
        try:
            address = _pick(properties, "address")
            if not address:
                raise ValidationFailed("address", _("缺少地址"))
            if len(address) > 200:
                raise ValidationFailed("address", _("地址过长"))
            lon, lat, outline = _place(geometry)
            file.rows.append(BuildingRow(
                where=where, address=address, compound=_pick(properties, "compound")[:100],
                name=_pick(properties, "name")[:50], lon=lon, lat=lat, footprint=outline,
                floors=_whole_number(properties, "floors", 1, 200),
                built_year=_whole_number(properties, "built_year", 1800, 2100)))
        except ApplicationError as error:
            file.problems.append(RowProblem(where, error.field or "-", error.message))
    return file
