"""Pure rules of the cockpit: shapes on the map, who comes first in an emergency, CAP 1.2.

No ORM here. Coordinates are WGS-84 ``(lon, lat)`` pairs as in GeoJSON and the registry;
CAP writes them the other way round (``lat,lon``).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core.errors import ValidationFailed
from linli.registry import workflow as ranking
from linli.registry.choices import TagKind

Point = tuple[float, float]
Ring = list[Point]

MAX_VERTICES = 500
MAX_RADIUS_M = 5_000
CIRCLE_SEGMENTS = 64
EARTH_RADIUS_M = 6_371_008.8

# The ranking lives below the registry's per-building digest (registry.workflow); the
# cockpit's code and templates name it from here.
CHILD_AGE = ranking.CHILD_AGE
CHILD = ranking.CHILD
PRIORITY_KINDS = ranking.PRIORITY_KINDS
EMERGENCY_TAGS = ranking.EMERGENCY_TAGS
NOT_VULNERABLE = ranking.NOT_VULNERABLE
kind_rank = ranking.kind_rank
household_priority = ranking.household_priority
is_child = ranking.is_child
sorted_kinds = ranking.sorted_kinds
KIND_LABELS: dict[str, Any] = {
    **{str(k): TagKind(k).label for k in EMERGENCY_TAGS},
    CHILD: gettext_lazy("儿童"),
}


# --- shapes ---------------------------------------------------------------------------------


def _point(value: Any, field: str) -> Point:
    try:
        lon, lat = float(value[0]), float(value[1])
    except (TypeError, ValueError, IndexError, KeyError):
        raise ValidationFailed(field, _("坐标应为 [经度, 纬度]")) from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationFailed(field, _("坐标超出范围"))
    return lon, lat


def circle_ring(center: Point, radius_m: float, segments: int = CIRCLE_SEGMENTS) -> Ring:
    """A closed ring approximating a circle on the sphere (good to centimetres at street scale)."""
    lon0, lat0 = center
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat0)), 1e-9)
    ring = [(lon0 + dlon * math.cos(2 * math.pi * i / segments), lat0 + dlat * math.sin(2 * math.pi * i / segments))
            for i in range(segments)]
    return [*ring, ring[0]]


def shape_ring(shape: Any) -> Ring:
    """A closed ring from a drawn shape, or a clear error naming the field.

    ``{"type": "Polygon", "coordinates": [[[lon, lat], …]]}`` (GeoJSON; the ring may be left
    open) or ``{"type": "Circle", "center": [lon, lat], "radius_m": 300}``.
    """
    if not isinstance(shape, dict):
        raise ValidationFailed("shape", _("请先在地图上画出范围"))
    kind = shape.get("type")
    if kind == "Circle":
        center = _point(shape.get("center"), "shape.center")
        try:
            radius = float(shape.get("radius_m", ""))
        except (TypeError, ValueError):
            raise ValidationFailed("shape.radius_m", _("半径应为米数")) from None
        if not (1 <= radius <= MAX_RADIUS_M):
            raise ValidationFailed("shape.radius_m", _("半径应在 1 至 %(max)s 米之间") % {"max": MAX_RADIUS_M})
        return circle_ring(center, radius)
    if kind != "Polygon":
        raise ValidationFailed("shape.type", _("范围只能是多边形或圆形"))
    coordinates = shape.get("coordinates")
    if not isinstance(coordinates, list) or not coordinates or not isinstance(coordinates[0], list):
        raise ValidationFailed("shape.coordinates", _("多边形缺少坐标"))
    raw = coordinates[0]
    if len(raw) > MAX_VERTICES + 1:
        raise ValidationFailed("shape.coordinates", _("多边形最多 %(max)s 个顶点") % {"max": MAX_VERTICES})
    ring = [_point(p, f"shape.coordinates[{i}]") for i, p in enumerate(raw)]
    if ring and ring[0] != ring[-1]:
        ring.append(ring[0])
    if len(set(ring)) < 3:
        raise ValidationFailed("shape.coordinates", _("多边形至少需要三个不同的顶点"))
    return ring


def ring_bbox(ring: Sequence[Point]) -> tuple[float, float, float, float]:
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    return min(lons), min(lats), max(lons), max(lats)


def point_in_ring(lon: float, lat: float, ring: Sequence[Point]) -> bool:
    """Even-odd ray casting; a point on an edge may fall either way (buildings are points)."""
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def points_ring(points: Sequence[Point], margin_m: float = 30.0) -> Ring:
    """A rectangle around picked buildings, ``margin_m`` wide: the area of a building pick."""
    lon_min, lat_min, lon_max, lat_max = ring_bbox(points)
    dlat = math.degrees(margin_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians((lat_min + lat_max) / 2)), 1e-9)
    w, s, e, n = lon_min - dlon, lat_min - dlat, lon_max + dlon, lat_max + dlat
    return [(w, s), (e, s), (e, n), (w, n), (w, s)]


def ring_geojson(ring: Sequence[Point]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[round(lon, 7), round(lat, 7)] for lon, lat in ring]]}


def common_path(paths: Iterable[str]) -> str:
    """The deepest area path (``/1/4/17/``) that is an ancestor of every given path."""
    split = [p.strip("/").split("/") for p in paths]
    if not split:
        return ""
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if any(part != parts[0] for part in parts):
            break
        common.append(parts[0])
    return "/" + "/".join(common) + "/" if common else ""


# --- CAP 1.2 (OASIS Common Alerting Protocol, also ITU-T X.1303) --------------------------

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
_CAP_FORBIDDEN = re.compile(r"[\s,<&]")


@dataclass(frozen=True)
class CapAlert:
    identifier: str
    sender: str
    sent: datetime
    event: str
    headline: str
    area_desc: str
    ring: Sequence[Point]
    description: str = ""
    instruction: str = ""
    sender_name: str = ""
    category: str = "Safety"
    urgency: str = "Immediate"
    severity: str = "Severe"
    certainty: str = "Observed"
    msg_type: str = "Alert"
    status: str = "Actual"


def cap_time(moment: datetime) -> str:
    """CAP's dateTime: seconds precision, explicit offset, never ``Z`` (CAP 1.2 §3.3.2)."""
    if moment.tzinfo is None:
        raise ValueError("CAP times need a time zone")
    text = moment.replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def cap_polygon(ring: Sequence[Point]) -> str:
    """``lat,lon`` pairs separated by spaces, first and last equal, at least four pairs."""
    closed = list(ring) if ring[0] == ring[-1] else [*ring, ring[0]]
    if len(closed) < 4:
        raise ValueError("a CAP polygon needs at least four pairs")
    return " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in closed)


def cap_alert_xml(alert: CapAlert) -> bytes:
    """The alert as a CAP 1.2 document (elements in the schema's order)."""
    for name, value in (("identifier", alert.identifier), ("sender", alert.sender)):
        if not value or _CAP_FORBIDDEN.search(value):
            raise ValueError(f"CAP {name} must not be empty or hold spaces, commas, < or &")
    ET.register_namespace("", CAP_NS)

    def sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
        element.text = text
        return element

    root = ET.Element(f"{{{CAP_NS}}}alert")
    sub(root, "identifier", alert.identifier)
    sub(root, "sender", alert.sender)
    sub(root, "sent", cap_time(alert.sent))
    sub(root, "status", alert.status)
    sub(root, "msgType", alert.msg_type)
    sub(root, "scope", "Public")
    info = ET.SubElement(root, f"{{{CAP_NS}}}info")
    sub(info, "language", "zh-CN")
    sub(info, "category", alert.category)
    sub(info, "event", alert.event)
    sub(info, "urgency", alert.urgency)
    sub(info, "severity", alert.severity)
    sub(info, "certainty", alert.certainty)
    if alert.sender_name:
        sub(info, "senderName", alert.sender_name)
    sub(info, "headline", alert.headline)
    if alert.description:
        sub(info, "description", alert.description)
    if alert.instruction:
        sub(info, "instruction", alert.instruction)
    area = ET.SubElement(info, f"{{{CAP_NS}}}area")
    sub(area, "areaDesc", alert.area_desc)
    sub(area, "polygon", cap_polygon(alert.ring))
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
