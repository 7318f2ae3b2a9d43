"""Reads for maps: the base map of the caller's areas and the building nearest a point.

Kept apart from ``selectors.py`` (past the size where a module splits). Every read is
scoped like the rest of the registry: the caller's areas and the buildings of their grids;
a caller who may not read the registry gets an empty map and no nearest building. Nothing
here carries a resident: area outlines, roads, buildings (points and outlines) and facilities only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import shapely
from shapely.geometry import shape

from linli.accounts.choices import Permission
from linli.accounts.selectors import AreaScope, Principal, scope_for
from linli.geo.choices import AreaLevel
from linli.geo.measure import BBox, bbox_around, bbox_intersects, distance_m, geometry_bbox
from linli.geo.models import Area
from linli.geo.selectors import roads_in_box
from linli.registry.models import Building, Facility

# A map answer never holds more than this many buildings (or facilities): enough for a street
# at street scale, small enough for a phone.
BASEMAP_POINTS_MAX: Final = 3000
# Requests for buildings cover at most this many degrees a side (≈ 5 km).
BASEMAP_BBOX_MAX_DEG: Final = 0.05
# Roads in one answer: a street has tens, a 5 km box in a city centre a few hundred.
BASEMAP_ROADS_MAX: Final = 1000
# "Nearest building" looks this far at most; beyond it the place has no building to name.
NEAREST_MAX_M: Final = 300.0
_NEAREST_STEPS: Final = (60.0, 150.0)
_MAP_LEVELS: Final = (AreaLevel.STREET, AreaLevel.COMMUNITY, AreaLevel.ZONE, AreaLevel.GRID)


def _map_scope(user: Principal | None) -> AreaScope | None:
    scope = scope_for(user)
    return scope if scope.can(Permission.VIEW_REGISTRY) else None


def building_label(building: Building) -> str:
    """What a person calls the building: compound and number (金色家园3幢), else its address."""
    if building.compound and building.name:
        return f"{building.compound}{building.name}"
    return building.name or building.address


def _label_point(boundary: dict[str, Any]) -> list[float] | None:
    try:
        point = shape(boundary).representative_point()
    except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException):
        return None
    return [round(point.x, 7), round(point.y, 7)]


def basemap_for_user(*, user: Principal | None, bbox: BBox | None = None) -> dict[str, Any]:
    """The base map as a GeoJSON FeatureCollection: areas, and roads, buildings and facilities in ``bbox``.

    Areas (street, community, zone, grid outlines with their names and a label point) come
    from the caller's scope, cut to ``bbox`` when given. Buildings and facilities come only
    with a box (a whole district's buildings are too many for one answer), at most
    :data:`BASEMAP_POINTS_MAX` each; ``truncated`` says when more were there. Roads (not
    personal data) are those meeting the box within the bounds of the caller's areas.
    """
    scope = _map_scope(user)
    if scope is None:
        return {"type": "FeatureCollection", "features": [], "truncated": False}
    return basemap_of(area_ids=scope.area_ids, grid_ids=scope.grid_ids, bbox=bbox)


def basemap_of(
    *,
    area_ids: Iterable[int],
    grid_ids: Iterable[int],
    bbox: BBox | None = None,
    facilities: bool = True,
) -> dict[str, Any]:
    """The base map of these areas and of the buildings (and facilities) of these grids; the
    caller has scoped the ids (:func:`basemap_for_user` for staff; the portal gives a
    resident their own community, without facilities)."""
    features: list[dict[str, Any]] = []
    answer: dict[str, Any] = {"type": "FeatureCollection", "features": features, "truncated": False}
    reach: BBox | None = None  # the bounds of the caller's areas: roads beyond them are not asked for
    areas = (
        Area.objects.filter(pk__in=sorted(area_ids), boundary__isnull=False, level__in=_MAP_LEVELS)
        .order_by("path")
        .values_list("id", "level", "name", "boundary")
    )
    for pk, level, name, boundary in areas:
        box = geometry_bbox(boundary)
        if box is not None:
            reach = box if reach is None else (
                min(reach[0], box[0]), min(reach[1], box[1]), max(reach[2], box[2]), max(reach[3], box[3]))
        if boundary is None or box is None or (bbox is not None and not bbox_intersects(box, bbox)):
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": boundary,
                "properties": {
                    "layer": "area",
                    "id": pk,
                    "level": level,
                    "name": name,
                    "label_at": _label_point(boundary),
                },
            }
        )
    if bbox is None:
        return answer
    if reach is not None and bbox_intersects(reach, bbox):
        road_box = (max(reach[0], bbox[0]), max(reach[1], bbox[1]), min(reach[2], bbox[2]), min(reach[3], bbox[3]))
        roads = roads_in_box(bbox=road_box, limit=BASEMAP_ROADS_MAX)
        answer["truncated"] = len(roads) > BASEMAP_ROADS_MAX
        features.extend(
            {"type": "Feature", "geometry": r.geometry, "properties": {"layer": "road", "id": r.pk, "name": r.name}}
            for r in roads[:BASEMAP_ROADS_MAX]
        )
    west, south, east, north = bbox
    grids = sorted(grid_ids)
    buildings = list(
        Building.objects.filter(
            grid_id__in=grids, lon__gte=west, lon__lte=east, lat__gte=south, lat__lte=north
        )
        .order_by("id")
        .only("id", "compound", "name", "address", "lon", "lat", "floors", "footprint")[: BASEMAP_POINTS_MAX + 1]
    )
    points = (
        list(
            Facility.objects.filter(
                grid_id__in=grids, lon__gte=west, lon__lte=east, lat__gte=south, lat__lte=north
            )
            .order_by("id")
            .only("id", "kind", "name", "lon", "lat")[: BASEMAP_POINTS_MAX + 1]
        )
        if facilities
        else []
    )
    answer["truncated"] = (answer["truncated"] or len(buildings) > BASEMAP_POINTS_MAX
                           or len(points) > BASEMAP_POINTS_MAX)
    features.extend(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [b.lon, b.lat]},
            "properties": {
                "layer": "building",
                "id": b.pk,
                "name": building_label(b),
                "floors": b.floors,
                # The outline (GeoJSON Polygon) when known; the point stays the feature's
                # geometry, as every map places and links a building by it.
                "footprint": b.footprint,
            },
        }
        for b in buildings[:BASEMAP_POINTS_MAX]
    )
    features.extend(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [f.lon, f.lat]},
            "properties": {
                "layer": "facility",
                "id": f.pk,
                "kind": f.kind,
                "name": f.name or str(f.get_kind_display()),
            },
        }
        for f in points[:BASEMAP_POINTS_MAX]
    )
    return answer


@dataclass(frozen=True)
class NearestBuilding:
    """The building nearest a point: what a form writes as the address, and how far it is."""

    building_id: int
    label: str
    address: str
    grid_id: int
    distance_m: float


def nearest_building(
    *, lat: float, lon: float, user: Principal | None, max_m: float = NEAREST_MAX_M
) -> NearestBuilding | None:
    """The caller's building nearest (lon, lat) within ``max_m``, else ``None``.

    Looks in a small box first and widens it (the ``building_lon_lat_idx`` index answers each
    box); only buildings of the caller's grids count, so a position outside them names
    nothing rather than another area's building.
    """
    scope = _map_scope(user)
    if scope is None:
        return None
    return nearest_building_in(lat=lat, lon=lon, grid_ids=scope.grid_ids, max_m=max_m)


def nearest_building_in(
    *, lat: float, lon: float, grid_ids: Iterable[int], max_m: float = NEAREST_MAX_M
) -> NearestBuilding | None:
    """The building of these grids nearest (lon, lat) within ``max_m``, else ``None``."""
    grids = sorted(grid_ids)
    if not grids:
        return None
    for radius in (*(r for r in _NEAREST_STEPS if r < max_m), max_m):
        west, south, east, north = bbox_around(lon, lat, radius)
        rows = list(
            Building.objects.filter(
                grid_id__in=grids, lon__gte=west, lon__lte=east, lat__gte=south, lat__lte=north
            ).only("id", "compound", "name", "address", "lon", "lat", "grid_id")[:500]
        )
        if not rows:
            continue
        best = min(rows, key=lambda b: (distance_m(lon, lat, b.lon, b.lat), b.pk))
        gap = distance_m(lon, lat, best.lon, best.lat)
        if gap <= radius:  # a building in the box's corner may be farther than one outside it
            return NearestBuilding(
                building_id=best.pk,
                label=building_label(best),
                address=best.address,
                grid_id=best.grid_id,
                distance_m=round(gap, 1),
            )
    return None
