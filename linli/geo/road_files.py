"""Reading a road file: a GeoJSON FeatureCollection of LineString/MultiLineString features,
each with a ``name`` (``名称``, ``NAME``) property, as a surveying office or an OpenStreetMap
extract gives it. Pure: bytes in, roads and feature-numbered problems out. Features of the
same name become one road (a road often comes in several pieces).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from linli.core.errors import ApplicationError
from linli.geo.area_files import RowProblem, geojson_numbered_features
from linli.geo.workflow import validate_road_geometry

NAME_KEYS = ("name", "名称", "NAME", "name:zh", "道路名称")


@dataclass(frozen=True)
class RoadRow:
    """One named road of the file: a clean LineString or MultiLineString."""

    name: str
    geometry: dict[str, Any]


@dataclass
class RoadFile:
    """The roads that read cleanly and the problems of the other features."""

    rows: list[RoadRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    skipped: int = 0  # features without a name (unnamed service lanes): nothing to label


def _parts(geometry: dict[str, Any]) -> list[list[list[float]]]:
    coords = geometry["coordinates"]
    return [coords] if geometry["type"] == "LineString" else list(coords)


def read_road_file(data: bytes) -> RoadFile:
    """The named roads of a GeoJSON FeatureCollection; unnamed lines are skipped."""
    file = RoadFile()
    by_name: dict[str, list[list[list[float]]]] = {}
    for where, properties, geometry in geojson_numbered_features(data, file.problems):
        name = next((str(properties[k]).strip() for k in NAME_KEYS if properties and properties.get(k)), "")
        if not name:
            file.skipped += 1
            continue
        if len(name) > 100:
            file.problems.append(RowProblem(where, "name", _("名称过长")))
            continue
        try:
            clean = validate_road_geometry(geometry)
        except ApplicationError as error:
            file.problems.append(RowProblem(where, error.field or "geometry", error.message))
            continue
        by_name.setdefault(name, []).extend(_parts(clean))
    for name, parts in by_name.items():
        geometry = ({"type": "LineString", "coordinates": parts[0]} if len(parts) == 1
                    else {"type": "MultiLineString", "coordinates": parts})
        file.rows.append(RoadRow(name=name, geometry=geometry))
    return file
