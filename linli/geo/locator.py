"""Point → grid: which grid polygon holds a WGS-84 lon/lat point, in batch or one at a time.

How it works. A raster is laid over the grids' bounding box. Every raster cell that no
polygon edge comes near (checked conservatively in cell units, see ``_EPS``) lies wholly
inside one grid or wholly outside all of them, so its answer is stored in the cell: the
grid's index, or ``-1``. Cells crossed by an edge are "mixed" and keep a short list of
candidate grids; only points falling there get an exact test with Shapely (GEOS predicates
are exact on the given doubles). A batch lookup is therefore a few numpy operations plus
exact tests for the small share of points near edges.

Rules, the same in batch and single lookups:

- inside the interior of one or more grids → ``inside``, the grid with the smallest code;
- else on the boundary (shared edge, vertex, outer edge, hole edge) of one or more grids →
  ``boundary``, the grid with the smallest code touching the point;
- else ``outside`` with no grid: never a guess. :meth:`GridLocator.nearest` is there for
  callers that want a fallback and say how far they accept.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely import lib as shapely_lib

logger = logging.getLogger(__name__)


class LocationStatus(enum.StrEnum):
    """Where a point lies relative to the grids."""

    INSIDE = "inside"
    BOUNDARY = "boundary"
    OUTSIDE = "outside"


# Status codes of :meth:`GridLocator.locate_many` (int8).
STATUS_OUTSIDE = 0
STATUS_INSIDE = 1
STATUS_BOUNDARY = 2
STATUS_BY_CODE: dict[int, LocationStatus] = {
    STATUS_OUTSIDE: LocationStatus.OUTSIDE,
    STATUS_INSIDE: LocationStatus.INSIDE,
    STATUS_BOUNDARY: LocationStatus.BOUNDARY,
}


@dataclass(frozen=True, slots=True)
class Location:
    """The answer for one point: the grid id (``None`` when outside) and how it was found."""

    grid_id: int | None
    status: LocationStatus


OUTSIDE = Location(None, LocationStatus.OUTSIDE)

# Cells count as touched by an edge when the edge comes within this many cell widths.
# Mapping degrees to cell units rounds by ~1e-10 cells; this margin dwarfs that.
_EPS = 1e-6
# Raster size: about this many cells per grid keeps ~5 % of cells on an edge; bounded so
# a district (400 grids) takes ~4 MB and a whole city at most 32 MB.
_CELLS_PER_GRID = 2800
_MIN_CELLS = 1 << 20
_MAX_CELLS = 1 << 23
_M_PER_DEG_LAT = 111_320.0
# Smallest metres-per-degree anywhere on the ellipsoid: safe for a search-box radius.
_MIN_M_PER_DEG = 110_574.0

_Scalar = Callable[[Any, float, float], bool]


def _scalar_predicate(name: str) -> _Scalar:
    """Shapely's scalar fast path (0.1 µs instead of 2 µs per call) when it has one."""
    fast = getattr(shapely_lib, f"{name}_xy_scalar", None)
    if fast is not None:
        return fast  # type: ignore[no-any-return]
    vectorised = getattr(shapely, f"{name}_xy")
    return lambda geom, x, y: bool(vectorised(geom, x, y))


_contains_one = _scalar_predicate("contains")
_intersects_one = _scalar_predicate("intersects")


def _polygonal(geometry: Mapping[str, Any], code: str) -> Any:
    """A Shapely (Multi)Polygon from GeoJSON; invalid rings are repaired, not dropped."""
    geom = shapely.geometry.shape(geometry)
    if not geom.is_valid:
        logger.warning("grid %s has an invalid boundary; repaired for locating", code)
        geom = shapely.make_valid(geom)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        geom = shapely.union_all(parts) if parts else shapely.Polygon()
    return geom


def _unique(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Sorted distinct values (sort-based: far faster than ``np.unique`` here)."""
    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


class GridLocator:
    """Locate points in grid polygons (GeoJSON Polygon/MultiPolygon, WGS-84 lon/lat).

    Build once per process (a few hundred ms for a district) and share: lookups are
    read-only and thread-safe.
    """

    def __init__(
        self,
        grids: Iterable[tuple[int, str, Mapping[str, Any]]],
        *,
        max_cells: int | None = None,
    ) -> None:
        # Index order = code order, so "smallest code" is "smallest index" everywhere below.
        entries = sorted(grids, key=lambda g: (g[1], g[0]))
        self.grid_ids: list[int] = [int(g[0]) for g in entries]
        self.codes: list[str] = [g[1] for g in entries]
        geoms = [_polygonal(g[2], g[1]) for g in entries]
        self._geoms = np.empty(len(geoms), dtype=object)
        self._geoms[:] = geoms
        shapely.prepare(self._geoms)
        self._tree = shapely.STRtree(self._geoms)
        self._ids = np.asarray(self.grid_ids, dtype=np.int64)
        self._inside = [Location(gid, LocationStatus.INSIDE) for gid in self.grid_ids]
        self._boundary = [Location(gid, LocationStatus.BOUNDARY) for gid in self.grid_ids]
        if max_cells is None:
            max_cells = min(max(_CELLS_PER_GRID * len(entries), _MIN_CELLS), _MAX_CELLS)
        self._build_raster(max_cells)

    def __len__(self) -> int:
        return len(self.grid_ids)

    # --- construction -----------------------------------------------------------------------

    def _build_raster(self, max_cells: int) -> None:
        geoms = self._geoms
        nonempty = ~shapely.is_empty(geoms) if len(geoms) else np.zeros(0, dtype=bool)
        if not nonempty.any():
            self._set_raster(0.0, 0.0, 1.0, 1.0, 1, 1, np.full(1, -1, np.int32),
                             np.zeros(1, np.int64), np.zeros(0, np.int32))
            self._nx = self._ny = 0  # nothing is ever inside the raster
            return
        minx, miny, maxx, maxy = shapely.total_bounds(geoms[nonempty])
        # Square cells in metres, about max_cells of them, plus one cell of margin each side.
        k = max(math.cos(math.radians((miny + maxy) / 2)), 1e-6)
        w_m = max(maxx - minx, 1e-9) * k
        h_m = max(maxy - miny, 1e-9)
        side = math.sqrt(w_m * h_m / max_cells)
        nx = max(1, math.ceil(w_m / side)) + 2
        ny = max(1, math.ceil(h_m / side)) + 2
        dx = max(maxx - minx, 1e-9) / (nx - 2)
        dy = max(maxy - miny, 1e-9) / (ny - 2)
        x0, y0 = minx - dx, miny - dy
        inv_dx, inv_dy = 1.0 / dx, 1.0 / dy

        mixed_keys = self._edge_cells(x0, y0, inv_dx, inv_dy, nx, ny)
        npoly = np.int64(len(geoms))
        mixed_cells = _unique(mixed_keys // npoly)

        mixed = np.zeros(nx * ny, dtype=bool)
        mixed[mixed_cells] = True
        raster = np.empty(nx * ny, dtype=np.int32)

        # Cells on a row between two mixed cells form a run no edge crosses: one point
        # decides the whole run.
        pure = ~mixed
        starts = pure.copy()
        starts[1:] &= mixed[:-1]
        starts.reshape(ny, nx)[:, 0] = pure.reshape(ny, nx)[:, 0]  # every row starts a run
        run_of = np.cumsum(starts) - 1
        start_cells = np.flatnonzero(starts)
        run_value = self._containing(
            x0 + (start_cells % nx + 0.5) * dx, y0 + (start_cells // nx + 0.5) * dy
        )
        raster[pure] = run_value[run_of[pure]].astype(np.int32)
        raster[mixed_cells] = -2 - np.arange(len(mixed_cells), dtype=np.int32)

        # Candidates of a mixed cell: grids whose edges touch it, plus the smallest-code grid
        # holding its centre. A grid whose edges miss the cell but holds the centre holds the
        # whole cell (possible only where grids overlap, but then it decides).
        cx = x0 + (mixed_cells % nx + 0.5) * dx
        cy = y0 + (mixed_cells // nx + 0.5) * dy
        holder = self._containing(cx, cy)
        held = holder >= 0
        keys = _unique(np.concatenate([mixed_keys, mixed_cells[held] * npoly + holder[held]]))
        cand_cell = keys // npoly
        cand_poly = (keys % npoly).astype(np.int32)
        ptr = np.searchsorted(cand_cell, np.append(mixed_cells, nx * ny)).astype(np.int64)
        self._set_raster(x0, y0, inv_dx, inv_dy, nx, ny, raster, ptr, cand_poly)

    def _set_raster(
        self, x0: float, y0: float, inv_dx: float, inv_dy: float, nx: int, ny: int,
        raster: npt.NDArray[np.int32], ptr: npt.NDArray[np.int64], cand: npt.NDArray[np.int32],
    ) -> None:
        self._x0, self._y0 = float(x0), float(y0)
        self._inv_dx, self._inv_dy = float(inv_dx), float(inv_dy)
        self._nx, self._ny = int(nx), int(ny)
        for arr in (raster, ptr, cand):
            arr.flags.writeable = False
        self._raster, self._ptr, self._cand = raster, ptr, cand
        # Single lookups index memoryviews of the same buffers: plain Python ints come out,
        # without numpy scalar boxing on the hot path and without a second copy.
        self._cells = raster.data
        self._ptr_list = ptr.data
        self._cand_list = cand.data

    def _edge_cells(
        self, x0: float, y0: float, inv_dx: float, inv_dy: float, nx: int, ny: int
    ) -> npt.NDArray[np.int64]:
        """Keys ``cell * n_grids + grid`` of every cell an edge of a grid comes near."""
        npoly = len(self._geoms)
        parts, owner = shapely.get_parts(self._geoms, return_index=True)
        rings, part_of = shapely.get_rings(parts, return_index=True)
        coords, ring_of = shapely.get_coordinates(rings, return_index=True)
        same = ring_of[1:] == ring_of[:-1]
        u = (coords[:, 0] - x0) * inv_dx
        v = (coords[:, 1] - y0) * inv_dy
        ua, ub = u[:-1][same], u[1:][same]
        va, vb = v[:-1][same], v[1:][same]
        seg_owner = owner[part_of[ring_of[:-1][same]]].astype(np.int64)
        if len(ua) == 0:
            return np.zeros(0, np.int64)

        umin, umax = np.minimum(ua, ub), np.maximum(ua, ub)
        vmin, vmax = np.minimum(va, vb), np.maximum(va, vb)
        c0 = np.floor(umin - _EPS).astype(np.int64)
        ncol = np.floor(umax + _EPS).astype(np.int64) - c0 + 1
        seg = np.repeat(np.arange(len(ua)), ncol)
        col = c0[seg] + (np.arange(len(seg)) - np.repeat(np.cumsum(ncol) - ncol, ncol))
        # The part of the segment within this column (widened by eps), as a v range.
        lo = np.maximum(col - _EPS, umin[seg])
        hi = np.minimum(col + 1 + _EPS, umax[seg])
        du = ub - ua
        flat = du == 0
        slope = np.divide(vb - va, du, out=np.zeros_like(du), where=~flat)
        s, a_u, a_v = slope[seg], ua[seg], va[seg]
        v_lo, v_hi = a_v + (lo - a_u) * s, a_v + (hi - a_u) * s
        v1 = np.clip(np.minimum(v_lo, v_hi), vmin[seg], vmax[seg])
        v2 = np.clip(np.maximum(v_lo, v_hi), vmin[seg], vmax[seg])
        vertical = flat[seg]
        v1[vertical] = vmin[seg][vertical]
        v2[vertical] = vmax[seg][vertical]
        r0 = np.floor(v1 - _EPS).astype(np.int64)
        nrow = np.floor(v2 + _EPS).astype(np.int64) - r0 + 1
        piece = np.repeat(np.arange(len(col)), nrow)
        row = r0[piece] + (np.arange(len(piece)) - np.repeat(np.cumsum(nrow) - nrow, nrow))
        cell = np.clip(row, 0, ny - 1) * nx + np.clip(col[piece], 0, nx - 1)
        return _unique(cell * npoly + seg_owner[seg[piece]])

    def _containing(self, xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """Index of the smallest-code grid whose interior holds each point, or -1."""
        order = np.argsort(ys, kind="stable")
        sx, sy = xs[order], ys[order]
        found = np.full(len(xs), -1, dtype=np.int64)
        # Per grid: a slice of the points sorted by y, masked by x, then one prepared test.
        for j, (minx, miny, maxx, maxy) in enumerate(shapely.bounds(self._geoms).tolist()):
            if math.isnan(minx):
                continue
            lo = int(np.searchsorted(sy, miny, side="left"))
            hi = int(np.searchsorted(sy, maxy, side="right"))
            if lo >= hi:
                continue
            band_x = sx[lo:hi]
            cand = np.flatnonzero((band_x >= minx) & (band_x <= maxx)) + lo
            cand = cand[found[cand] < 0]  # grids come in code order: first hit wins
            if len(cand):
                found[cand[shapely.contains_xy(self._geoms[j], sx[cand], sy[cand])]] = j
        out = np.empty_like(found)
        out[order] = found
        return out


    # --- lookups ----------------------------------------------------------------------------

    def locate(self, lon: float, lat: float) -> Location:
        """The grid holding one point; see the module docstring for the rules."""
        u = (lon - self._x0) * self._inv_dx
        v = (lat - self._y0) * self._inv_dy
        nx = self._nx
        # Written so that NaN falls through to "outside".
        if not (0.0 <= u < nx and 0.0 <= v < self._ny):
            return OUTSIDE
        value = self._cells[int(v) * nx + int(u)]
        if value >= 0:
            return self._inside[value]
        if value == -1:
            return OUTSIDE
        return self._locate_exact(lon, lat, -2 - value)

    def _locate_exact(self, lon: float, lat: float, mixed_id: int) -> Location:
        start, stop = self._ptr_list[mixed_id], self._ptr_list[mixed_id + 1]
        cand, geoms = self._cand_list, self._geoms
        for k in range(start, stop):
            if _contains_one(geoms[cand[k]], lon, lat):
                return self._inside[cand[k]]
        for k in range(start, stop):
            if _intersects_one(geoms[cand[k]], lon, lat):
                return self._boundary[cand[k]]
        return OUTSIDE

    def locate_many(
        self, lons: npt.ArrayLike, lats: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]:
        """Grid ids (``-1`` = outside) and status codes (``STATUS_*``, int8) for many points."""
        x = np.ascontiguousarray(lons, dtype=np.float64).ravel()
        y = np.ascontiguousarray(lats, dtype=np.float64).ravel()
        if x.shape != y.shape:
            raise ValueError("lons and lats must have the same length")
        n = len(x)
        index = np.full(n, -1, dtype=np.int64)
        status = np.zeros(n, dtype=np.int8)
        if n == 0 or self._nx == 0:
            return index, status
        u = x - self._x0
        u *= self._inv_dx
        v = y - self._y0
        v *= self._inv_dy
        within = (u >= 0.0) & (u < self._nx) & (v >= 0.0) & (v < self._ny)
        if not within.all():
            u[~within] = 0.0
            v[~within] = 0.0
        cell = v.astype(np.int64)
        cell *= self._nx
        cell += u.astype(np.int64)
        value = self._raster[cell]
        if not within.all():
            value[~within] = -1
        inside = value >= 0
        index[inside] = value[inside]
        status[inside] = STATUS_INSIDE
        mixed_pts = np.flatnonzero(value <= -2)
        if len(mixed_pts):
            self._exact_many(x, y, mixed_pts, -2 - value[mixed_pts].astype(np.int64), index, status)
        ids = np.full(n, -1, dtype=np.int64)
        found = index >= 0
        ids[found] = self._ids[index[found]]
        return ids, status

    def _exact_many(
        self,
        x: npt.NDArray[np.float64],
        y: npt.NDArray[np.float64],
        pts: npt.NDArray[np.int64],
        mixed_id: npt.NDArray[np.int64],
        index: npt.NDArray[np.int64],
        status: npt.NDArray[np.int8],
    ) -> None:
        """Exact tests for points in mixed cells, written into ``index``/``status``."""
        start = self._ptr[mixed_id]
        count = self._ptr[mixed_id + 1] - start
        # One (point, candidate) pair per row, points in order, candidates by code.
        pair_pt = np.repeat(pts, count)
        offset = np.arange(len(pair_pt)) - np.repeat(np.cumsum(count) - count, count)
        pair_poly = self._cand[np.repeat(start, count) + offset]
        geoms = self._geoms[pair_poly]
        px, py = x[pair_pt], y[pair_pt]
        hit = shapely.contains_xy(geoms, px, py)
        self._first_hits(pair_pt, pair_poly, hit, index, status, STATUS_INSIDE)
        todo = index[pair_pt] < 0
        if todo.any():
            hit = np.zeros(len(pair_pt), dtype=bool)
            hit[todo] = shapely.intersects_xy(geoms[todo], px[todo], py[todo])
            self._first_hits(pair_pt, pair_poly, hit, index, status, STATUS_BOUNDARY)

    @staticmethod
    def _first_hits(
        pair_pt: npt.NDArray[np.int64],
        pair_poly: npt.NDArray[np.int32],
        hit: npt.NDArray[np.bool_],
        index: npt.NDArray[np.int64],
        status: npt.NDArray[np.int8],
        code: int,
    ) -> None:
        hit_pt, hit_poly = pair_pt[hit], pair_poly[hit]
        if not len(hit_pt):
            return
        first = np.ones(len(hit_pt), dtype=bool)
        first[1:] = hit_pt[1:] != hit_pt[:-1]
        index[hit_pt[first]] = hit_poly[first]
        status[hit_pt[first]] = code

    def nearest(self, lon: float, lat: float, max_distance_m: float) -> int | None:
        """The grid holding the point, else the closest grid within ``max_distance_m``.

        Distances use a local equirectangular projection around the point (error well under
        1 % at a few kilometres). Ties go to the smallest code. ``None`` when nothing is near.
        """
        found = self.locate(lon, lat)
        if found.grid_id is not None:
            return found.grid_id
        if not (math.isfinite(lon) and math.isfinite(lat)) or max_distance_m < 0 or not len(self):
            return None
        k = max(math.cos(math.radians(lat)), 1e-6)
        r_lat = max_distance_m / _MIN_M_PER_DEG
        r_lon = r_lat / k
        near = self._tree.query(shapely.box(lon - r_lon, lat - r_lat, lon + r_lon, lat + r_lat))
        if not len(near):
            return None
        near = np.sort(near)

        def to_metres(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            return np.column_stack(((xy[:, 0] - lon) * k * _M_PER_DEG_LAT, (xy[:, 1] - lat) * _M_PER_DEG_LAT))

        local = shapely.transform(self._geoms[near], to_metres)
        dist = shapely.distance(local, shapely.Point(0.0, 0.0))
        best = int(np.argmin(dist))  # first minimum = smallest code among ties
        if dist[best] > max_distance_m:
            return None
        return self.grid_ids[int(near[best])]
