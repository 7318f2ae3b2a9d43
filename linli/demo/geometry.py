"""Grid polygons of the demo street: a jittered lattice over the old city by the river.

Cells share their vertices and edge midpoints, so neighbouring grids share edges exactly
and the union of a community's grids is one clean polygon. Coordinates are WGS-84.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Final

import shapely
from shapely.geometry import Polygon, mapping

# The street sits in 120.19–120.22 E, 30.23–30.26 N (上城区, by the Qiantang river).
LON_MIN: Final = 120.190
LON_MAX: Final = 120.220
LAT_MIN: Final = 30.230
LAT_MAX: Final = 30.260
COLUMNS: Final = 6
ROWS: Final = 7

Point = tuple[float, float]


@dataclass(frozen=True)
class Cell:
    """One lattice cell that becomes a grid; ``order`` is its place on the snake path."""

    order: int
    column: int
    row: int
    polygon: Polygon


def snake_path(columns: int = COLUMNS, rows: int = ROWS) -> list[tuple[int, int]]:
    """Cells in an order where consecutive cells share an edge.

    The path walks bands two columns wide, up one band and down the next, so slicing it into
    runs of four gives compact, contiguous communities.
    """
    path: list[tuple[int, int]] = []
    for band in range((columns + 1) // 2):
        cols = [c for c in (2 * band, 2 * band + 1) if c < columns]
        row_order = range(rows) if band % 2 == 0 else range(rows - 1, -1, -1)
        for k, row in enumerate(row_order):
            path.extend((col, row) for col in (cols if k % 2 == 0 else cols[::-1]))
    return path


def lattice_cells(rng: random.Random, count: int) -> list[Cell]:
    """``count`` cells along the snake path; the cells left over form the river-side notch."""
    dx = (LON_MAX - LON_MIN) / COLUMNS
    dy = (LAT_MAX - LAT_MIN) / ROWS
    vertex: dict[tuple[int, int], Point] = {}
    for i in range(COLUMNS + 1):
        for j in range(ROWS + 1):
            vertex[i, j] = (
                LON_MIN + i * dx + rng.uniform(-0.22, 0.22) * dx,
                LAT_MIN + j * dy + rng.uniform(-0.22, 0.22) * dy,
            )
    # Midpoints pushed sideways make the shared edges bend, as streets and rivers do.
    horizontal: dict[tuple[int, int], Point] = {}
    for i in range(COLUMNS):
        for j in range(ROWS + 1):
            (x0, y0), (x1, y1) = vertex[i, j], vertex[i + 1, j]
            horizontal[i, j] = ((x0 + x1) / 2, (y0 + y1) / 2 + rng.uniform(-0.12, 0.12) * dy)
    vertical: dict[tuple[int, int], Point] = {}
    for i in range(COLUMNS + 1):
        for j in range(ROWS):
            (x0, y0), (x1, y1) = vertex[i, j], vertex[i, j + 1]
            vertical[i, j] = ((x0 + x1) / 2 + rng.uniform(-0.12, 0.12) * dx, (y0 + y1) / 2)

    def rounded(point: Point) -> Point:
        return (round(point[0], 6), round(point[1], 6))

    cells = []
    for order, (i, j) in enumerate(snake_path()[:count]):
        ring = [
            vertex[i, j], horizontal[i, j], vertex[i + 1, j], vertical[i + 1, j],
            vertex[i + 1, j + 1], horizontal[i, j + 1], vertex[i, j + 1], vertical[i, j],
        ]
        polygon = Polygon([rounded(p) for p in ring])
        if not polygon.is_valid:  # pragma: no cover - jitter bounds keep cells convex enough
            raise ValueError(f"cell {i},{j} is not a valid polygon")
        cells.append(Cell(order=order, column=i, row=j, polygon=polygon))
    return cells


def union(polygons: list[Polygon]) -> Any:
    return shapely.unary_union(polygons)


def geojson(geometry: Any) -> dict[str, Any]:
    """GeoJSON dict with plain lists (JSONField round-trips lists, not tuples)."""
    def lists(value: Any) -> Any:
        if isinstance(value, tuple | list):
            return [lists(v) for v in value]
        return value
    data = mapping(geometry)
    return {"type": data["type"], "coordinates": lists(data["coordinates"])}


class PointSampler:
    """Random points strictly inside a polygon, kept off its edges (no boundary ambiguity)."""

    def __init__(self, polygon: Polygon, *, margin: float = 0.00012) -> None:
        inner = polygon.buffer(-margin)
        self._inner = inner if not inner.is_empty else polygon
        shapely.prepare(self._inner)
        self._bounds = self._inner.bounds

    def sample(self, rng: random.Random) -> Point:
        min_x, min_y, max_x, max_y = self._bounds
        while True:
            x = round(rng.uniform(min_x, max_x), 6)
            y = round(rng.uniform(min_y, max_y), 6)
            if shapely.contains_xy(self._inner, x, y):
                return (x, y)

    def near(self, rng: random.Random, origin: Point, *, spread: float = 0.0004) -> Point:
        """A point close to ``origin`` (a camera by a building), still inside the polygon."""
        for _ in range(20):
            x = round(origin[0] + rng.uniform(-spread, spread), 6)
            y = round(origin[1] + rng.uniform(-spread, spread), 6)
            if shapely.contains_xy(self._inner, x, y):
                return (x, y)
        return self.sample(rng)


def _edges(cells: list[Cell]) -> tuple[dict[tuple[str, int, int], list[Point]], int, int]:
    """Each cell's four sides as the lattice lines they lie on: (``h``, row line, column) for
    the bottom/top sides and (``v``, column line, row) for the left/right, drawn west → east
    and south → north."""
    sides: dict[tuple[str, int, int], list[Point]] = {}
    for cell in cells:
        ring = [(float(x), float(y)) for x, y in cell.polygon.exterior.coords[:-1]]
        i, j = cell.column, cell.row
        sides["h", j, i] = ring[0:3]
        sides["h", j + 1, i] = [ring[6], ring[5], ring[4]]
        sides["v", i, j] = [ring[0], ring[7], ring[6]]
        sides["v", i + 1, j] = ring[2:5]
    return sides, COLUMNS, ROWS


def _joined(pieces: list[list[Point] | None]) -> list[list[list[float]]]:
    """Consecutive sides joined into lines; a missing side (the river notch) breaks the line."""
    parts: list[list[list[float]]] = []
    current: list[list[float]] = []
    for piece in pieces:
        if piece is None:
            if len(current) > 1:
                parts.append(current)
            current = []
            continue
        points = [[x, y] for x, y in piece]
        current = current + points[1:] if current and current[-1] == points[0] else current + points
    if len(current) > 1:
        parts.append(current)
    return parts


def lattice_roads(cells: list[Cell], names: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """Named roads along the lattice lines, as GeoJSON geometries: grids are bounded by
    roads, as real ones are. Each east-west line is two roads (west and east half), the middle
    north-south line too, the other north-south lines one each; names are taken in order.
    Deterministic from the cells (no random draw, so the rest of the demo does not change)."""
    sides, columns, rows = _edges(cells)
    half = columns // 2
    lines: list[list[list[list[float]]]] = []
    for j in range(rows + 1):
        lines.append(_joined([sides.get(("h", j, i)) for i in range(half)]))
        lines.append(_joined([sides.get(("h", j, i)) for i in range(half, columns)]))
    for i in range(columns + 1):
        pieces = [sides.get(("v", i, j)) for j in range(rows)]
        if i == half:
            lines.append(_joined(pieces[: rows // 2]))
            lines.append(_joined(pieces[rows // 2:]))
        else:
            lines.append(_joined(pieces))
    roads = []
    for name, parts in zip(names, (p for p in lines if p), strict=False):
        geometry = ({"type": "LineString", "coordinates": parts[0]} if len(parts) == 1
                    else {"type": "MultiLineString", "coordinates": parts})
        roads.append((name, geometry))
    return roads


def footprint(lon: float, lat: float, *, width_m: float, depth_m: float, angle_deg: float) -> dict[str, Any]:
    """A building's outline: a ``width_m`` × ``depth_m`` rectangle centred on its point, its
    long side turned ``angle_deg`` from east; a GeoJSON Polygon rounded to 7 places (≈ 1 cm)."""
    metres_lat = 111_320.0
    metres_lon = metres_lat * math.cos(math.radians(lat))
    cos_a, sin_a = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    ring = []
    for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)):
        x, y = sx * width_m / 2, sy * depth_m / 2
        east, north = x * cos_a - y * sin_a, x * sin_a + y * cos_a
        ring.append([round(lon + east / metres_lon, 7), round(lat + north / metres_lat, 7)])
    return {"type": "Polygon", "coordinates": [ring]}
