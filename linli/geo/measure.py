"""Distances and boxes on WGS-84 lon/lat, for maps and "what is near here" questions.

Pure functions (no ORM): a street is a few kilometres across, so a box in degrees widened
by the latitude's cosine and a great-circle distance are exact enough for "the nearest
building" and "what the map shows".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

EARTH_RADIUS_M = 6_371_008.8
M_PER_DEG_LAT = 111_320.0

BBox = tuple[float, float, float, float]  # west, south, east, north


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def bbox_around(lon: float, lat: float, radius_m: float) -> BBox:
    """The box holding every point within ``radius_m`` of (lon, lat)."""
    d_lat = radius_m / M_PER_DEG_LAT
    d_lon = d_lat / max(math.cos(math.radians(lat)), 1e-6)
    return lon - d_lon, lat - d_lat, lon + d_lon, lat + d_lat


def bbox_parse(text: str, *, max_side_deg: float) -> BBox | None:
    """``"west,south,east,north"`` → a box, or ``None`` when it is not one.

    Boxes larger than ``max_side_deg`` on a side are refused (``None``) so a request cannot
    ask for a whole district's buildings at once.
    """
    parts = text.split(",")
    if len(parts) != 4:
        return None
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        return None
    values = (west, south, east, north)
    if not all(math.isfinite(v) for v in values):
        return None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        return None
    if east - west > max_side_deg or north - south > max_side_deg:
        return None
    return west, south, east, north


def _positions(geometry: Mapping[str, Any]) -> Iterable[tuple[float, float]]:
    kind, coordinates = geometry.get("type"), geometry.get("coordinates") or []
    rings: list[Any] = []
    if kind == "Polygon":
        rings = list(coordinates)
    elif kind == "MultiPolygon":
        rings = [ring for polygon in coordinates for ring in polygon]
    for ring in rings:
        for position in ring:
            yield float(position[0]), float(position[1])


def geometry_bbox(geometry: Mapping[str, Any] | None) -> BBox | None:
    """The bounding box of a GeoJSON Polygon or MultiPolygon, ``None`` when empty."""
    if not geometry:
        return None
    points = list(_positions(geometry))
    if not points:
        return None
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return min(lons), min(lats), max(lons), max(lats)


def bbox_intersects(a: BBox, b: BBox) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def bbox_contains(box: BBox, lon: float, lat: float) -> bool:
    return box[0] <= lon <= box[2] and box[1] <= lat <= box[3]
