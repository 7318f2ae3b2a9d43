"""Synthetic grid polygons: an irregular lattice whose neighbours share their edges exactly.

Used by the locator benchmark and tests (no database needed) and handy for demo data: real
grid maps are irregular, so the locator must not be tested on rectangles only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# Metres per degree of latitude (mean); longitude shrinks with cos(latitude).
_M_PER_DEG_LAT = 111_320.0


def jittered_lattice(
    *,
    count: int = 376,
    center: tuple[float, float] = (120.20, 30.25),
    size_m: float = 6000.0,
    jitter: float = 0.3,
    wiggle_points: int = 3,
    seed: int = 7,
) -> list[tuple[int, str, dict[str, Any]]]:
    """``count`` quadrilateral-ish grids tiling a ``size_m`` square around ``center``.

    The lattice has ``cols × rows`` cells (``cols·rows ≥ count``); vertices are jittered by up
    to ``jitter`` of a cell and every edge gets ``wiggle_points`` jittered intermediate points,
    generated once per edge so both neighbours use the very same coordinates. Surplus cells
    are dropped from the corners, leaving notches of outside area inside the bounding box.
    Returns ``(grid_id, code, geojson)`` with 15-digit codes in lattice order.
    """
    rng = np.random.default_rng(seed)
    rows = max(1, math.isqrt(count))
    cols = math.ceil(count / rows)
    while cols * rows < count:
        cols += 1
    lon0, lat0 = center
    deg_lat = size_m / _M_PER_DEG_LAT
    deg_lon = size_m / (_M_PER_DEG_LAT * math.cos(math.radians(lat0)))
    dx, dy = deg_lon / cols, deg_lat / rows
    x0, y0 = lon0 - deg_lon / 2, lat0 - deg_lat / 2

    # Jittered lattice vertices; the outer ring stays on the frame so the district is a box.
    gx, gy = np.meshgrid(np.arange(cols + 1, dtype=float), np.arange(rows + 1, dtype=float))
    jx = rng.uniform(-jitter, jitter, gx.shape)
    jy = rng.uniform(-jitter, jitter, gy.shape)
    jx[:, 0] = jx[:, -1] = 0.0
    jy[0, :] = jy[-1, :] = 0.0
    vx = x0 + (gx + jx) * dx
    vy = y0 + (gy + jy) * dy

    def edge(a: tuple[int, int], b: tuple[int, int], *, outer: bool) -> list[list[float]]:
        """Points strictly between vertices a and b, each pulled sideways a little."""
        ax, ay = vx[a[1], a[0]], vy[a[1], a[0]]
        bx, by = vx[b[1], b[0]], vy[b[1], b[0]]
        pts = []
        for k in range(1, wiggle_points + 1):
            t = k / (wiggle_points + 1)
            px, py = ax + (bx - ax) * t, ay + (by - ay) * t
            if not outer:
                # Perpendicular offset keeps the edge simple (never folds back on itself).
                # Amplitude shrinks with density so close points never zig-zag across.
                off = rng.uniform(-0.3, 0.3) / (wiggle_points + 1)
                px += -(by - ay) * off
                py += (bx - ax) * off
            pts.append([float(px), float(py)])
        return pts

    # One shared point list per undirected lattice edge.
    edges: dict[tuple[tuple[int, int], tuple[int, int]], list[list[float]]] = {}

    def path(a: tuple[int, int], b: tuple[int, int]) -> list[list[float]]:
        key = (a, b) if a < b else (b, a)
        if key not in edges:
            outer = (a[0] == b[0] and a[0] in (0, cols)) or (a[1] == b[1] and a[1] in (0, rows))
            edges[key] = edge(key[0], key[1], outer=outer)
        pts = edges[key]
        return pts if key[0] == a else pts[::-1]

    cells = [(c, r) for r in range(rows) for c in range(cols)]
    surplus = cols * rows - count
    corners = [(0, 0), (cols - 1, rows - 1), (cols - 1, 0), (0, rows - 1)]
    dropped = set(corners[:surplus]) if surplus <= len(corners) else set(cells[count:])
    out: list[tuple[int, str, dict[str, Any]]] = []
    for c, r in cells:
        if (c, r) in dropped:
            continue
        corner_ids = [(c, r), (c + 1, r), (c + 1, r + 1), (c, r + 1)]
        ring: list[list[float]] = []
        for i, a in enumerate(corner_ids):
            b = corner_ids[(i + 1) % 4]
            ring.append([float(vx[a[1], a[0]]), float(vy[a[1], a[0]])])
            ring.extend(path(a, b))
        ring.append(ring[0])
        n = len(out) + 1
        code = f"330102{1 + (n - 1) // 100:03d}{1 + ((n - 1) // 10) % 10:03d}{n:03d}"
        out.append((n, code, {"type": "Polygon", "coordinates": [ring]}))
    return out[:count]
