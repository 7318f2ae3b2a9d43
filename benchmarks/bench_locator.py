"""Point → grid: linli's raster locator against plain Shapely approaches, no database needed.

    .venv/bin/python -m benchmarks.bench_locator [--grids 376 --points 1000000]

Grids are a jittered lattice with wiggly shared edges (``linli.geo.tessellation``) covering
a ~6×6 km district with notches at the corners; points are uniform over the district's
box plus 8 % margin, so some fall outside every grid. Every baseline also serves as a
reference: linli's answers (grid and inside/boundary/outside) must match them exactly,
including on every polygon vertex and edge midpoint.
"""

from __future__ import annotations

import argparse
import gc
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from benchmarks.harness import Result, best_of, median, percentile, report
from linli.geo.locator import STATUS_BOUNDARY, STATUS_INSIDE, GridLocator
from linli.geo.tessellation import jittered_lattice

BATCH_GOAL = 5_000_000.0
SINGLE_GOAL_US = 3.0

Answers = tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]


class Reference:
    """The grids as plain (unprepared) Shapely polygons in code order, with their ids."""

    def __init__(self, grids: list[tuple[int, str, dict[str, Any]]]) -> None:
        ordered = sorted(grids, key=lambda g: (g[1], g[0]))
        self.ids = np.array([g[0] for g in ordered], dtype=np.int64)
        self.polys = np.array([shapely.geometry.shape(g[2]) for g in ordered], dtype=object)
        self.tree = shapely.STRtree(self.polys)

    def loop(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> Answers:
        """Baseline 1: for each point, test every polygon (one Shapely call over all polygons)."""
        ids = np.full(len(x), -1, dtype=np.int64)
        status = np.zeros(len(x), dtype=np.int8)
        for i in range(len(x)):
            inside = np.flatnonzero(shapely.contains_xy(self.polys, x[i], y[i]))
            if len(inside):
                ids[i], status[i] = self.ids[inside[0]], STATUS_INSIDE
                continue
            touching = np.flatnonzero(shapely.intersects_xy(self.polys, x[i], y[i]))
            if len(touching):
                ids[i], status[i] = self.ids[touching[0]], STATUS_BOUNDARY
        return ids, status

    def strtree(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> Answers:
        """Baseline 2: per point, STRtree query for candidates, then contains on each."""
        ids = np.full(len(x), -1, dtype=np.int64)
        status = np.zeros(len(x), dtype=np.int8)
        polys, tree = self.polys, self.tree
        for i in range(len(x)):
            point = shapely.Point(x[i], y[i])
            candidates = np.sort(tree.query(point, predicate="intersects"))
            if not len(candidates):
                continue
            best = int(candidates[0])
            found = STATUS_BOUNDARY
            for j in candidates:
                if polys[j].contains(point):
                    best, found = int(j), STATUS_INSIDE
                    break
            ids[i], status[i] = self.ids[best], found
        return ids, status

    def bbox_prepared(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> Answers:
        """Baseline 3: per polygon, bounding-box mask then prepared ``contains_xy`` (vectorised)."""
        n = len(x)
        index = np.full(n, len(self.polys), dtype=np.int64)
        touch = np.full(n, len(self.polys), dtype=np.int64)
        bounds = shapely.bounds(self.polys)
        for j, poly in enumerate(self.polys):
            shapely.prepare(poly)
            minx, miny, maxx, maxy = bounds[j]
            cand = np.flatnonzero((x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy))
            if not len(cand):
                continue
            hit = cand[shapely.contains_xy(poly, x[cand], y[cand])]
            index[hit] = np.minimum(index[hit], j)
            rest = cand[index[cand] == len(self.polys)]
            on_edge = rest[shapely.intersects_xy(poly, x[rest], y[rest])]
            touch[on_edge] = np.minimum(touch[on_edge], j)
        inside = index < len(self.polys)
        boundary = ~inside & (touch < len(self.polys))
        ids = np.full(n, -1, dtype=np.int64)
        status = np.zeros(n, dtype=np.int8)
        ids[inside], status[inside] = self.ids[index[inside]], STATUS_INSIDE
        ids[boundary], status[boundary] = self.ids[touch[boundary]], STATUS_BOUNDARY
        return ids, status


def mismatches(a: Answers, b: Answers) -> int:
    return int(np.count_nonzero((a[0] != b[0]) | (a[1] != b[1])))


def _grid_or_minus_one(grid_id: int | None) -> int:
    return -1 if grid_id is None else grid_id


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--grids", type=int, default=376)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--single", type=int, default=200_000, help="single-call samples")
    parser.add_argument("--loop-sample", type=int, default=2_000)
    parser.add_argument("--strtree-sample", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    grids = jittered_lattice(count=args.grids)
    ref = Reference(grids)
    assert all(p.is_valid for p in ref.polys), "synthetic grids must be valid polygons"
    vertices = int(shapely.get_num_coordinates(ref.polys).sum())

    locator, build_s = timed(GridLocator, grids)
    print(f"{args.grids} grids, {vertices:,} vertices; locator built in {build_s * 1000:.0f} ms "
          f"({locator._nx}×{locator._ny} cells, {len(locator._ptr) - 1:,} on edges)")

    rng = np.random.default_rng(args.seed)
    minx, miny, maxx, maxy = shapely.total_bounds(ref.polys)
    mx, my = (maxx - minx) * 0.08, (maxy - miny) * 0.08
    x = rng.uniform(minx - mx, maxx + mx, args.points)
    y = rng.uniform(miny - my, maxy + my, args.points)

    # --- linli, batch ---------------------------------------------------------------------
    ours, cold_s = timed(locator.locate_many, x, y)
    batch_s = best_of(lambda: locator.locate_many(x, y), repeat=5)
    batch_rate = args.points / batch_s
    counts = np.bincount(ours[1], minlength=3)
    print(f"points: {counts[STATUS_INSIDE]:,} inside, {counts[STATUS_BOUNDARY]:,} boundary, "
          f"{counts[0]:,} outside")

    # --- linli, single calls --------------------------------------------------------------
    xs, ys = x[: args.single].tolist(), y[: args.single].tolist()
    locate, clock = locator.locate, time.perf_counter_ns
    gc.disable()
    try:
        started = clock()
        for a, b in zip(xs, ys, strict=True):
            locate(a, b)
        mean_us = (clock() - started) / len(xs) / 1000
        samples = []
        for a, b in zip(xs, ys, strict=True):
            t0 = clock()
            locate(a, b)
            samples.append(clock() - t0)
        # What perf_counter_ns itself costs, so per-call figures are the call alone.
        overhead = []
        for _ in range(len(xs) // 10):
            t0 = clock()
            overhead.append(clock() - t0)
    finally:
        gc.enable()
    timer_ns = median(overhead)
    single_us = [(s - timer_ns) / 1000 for s in samples]
    single_median, single_p99 = median(single_us), percentile(single_us, 99)
    single_bad = sum(
        1 for a, b, gid in zip(xs[:20_000], ys[:20_000], ours[0][:20_000].tolist(), strict=True)
        if _grid_or_minus_one(locate(a, b).grid_id) != gid
    )

    # --- baselines (each also a reference) -----------------------------------------------
    n1, n2 = min(args.loop_sample, args.points), min(args.strtree_sample, args.points)
    loop_ans, loop_s = timed(ref.loop, x[:n1], y[:n1])
    tree_ans, tree_s = timed(ref.strtree, x[:n2], y[:n2])
    bbox_ans, bbox_s = timed(ref.bbox_prepared, x, y)
    loop_rate, tree_rate, bbox_rate = n1 / loop_s, n2 / tree_s, args.points / bbox_s

    # Points exactly on the boundaries: every vertex and every edge midpoint.
    coords = shapely.get_coordinates(shapely.get_exterior_ring(ref.polys))
    edge_pts = np.vstack([coords, (coords[:-1] + coords[1:]) / 2])
    edge_ref = ref.bbox_prepared(edge_pts[:, 0], edge_pts[:, 1])
    edge_ours = locator.locate_many(edge_pts[:, 0], edge_pts[:, 1])
    edge_loop = ref.loop(edge_pts[:500, 0], edge_pts[:500, 1])

    bad = {
        "vs loop": mismatches((ours[0][:n1], ours[1][:n1]), loop_ans),
        "vs strtree": mismatches((ours[0][:n2], ours[1][:n2]), tree_ans),
        "vs bbox+prepared": mismatches(ours, bbox_ans),
        "edge points": mismatches(edge_ours, edge_ref),
        "edge points vs loop": mismatches((edge_ours[0][:500], edge_ours[1][:500]), edge_loop),
        "single vs batch": single_bad,
    }
    print(f"mismatches: {bad}  (boundary test points: {len(edge_pts):,}, "
          f"{int(np.count_nonzero(edge_ref[1] == STATUS_BOUNDARY)):,} on a boundary)")
    total_bad = sum(bad.values())
    print(f"MISMATCHES TOTAL: {total_bad}\n")

    notes = f"build {build_s * 1000:.0f} ms; mismatches {total_bad}"
    extra = {"build_ms": build_s * 1000, "mismatches": float(total_bad),
             "first_call_points_s": args.points / cold_s}
    results = [
        Result("point→grid batch vs shapely loop", args.points, "points/s", batch_rate, loop_rate,
               f"shapely contains_xy/intersects_xy over all polygons per point ({n1:,} pts)",
               goal="≥5,000,000 points/s", goal_met=batch_rate >= BATCH_GOAL, notes=notes, extra=extra),
        Result("point→grid batch vs STRtree per point", args.points, "points/s", batch_rate, tree_rate,
               f"STRtree.query + contains per point ({n2:,} pts)",
               goal="≥5,000,000 points/s", goal_met=batch_rate >= BATCH_GOAL),
        Result("point→grid batch vs bbox+prepared", args.points, "points/s", batch_rate, bbox_rate,
               "bbox mask + prepared contains_xy per polygon, vectorised",
               goal="≥5,000,000 points/s", goal_met=batch_rate >= BATCH_GOAL),
        Result("point→grid single, median", len(xs), "µs/call", single_median, 1e6 / tree_rate,
               "STRtree.query + contains per point", higher_is_better=False,
               goal="≤3 µs", goal_met=single_median <= SINGLE_GOAL_US,
               extra={"mean_us": mean_us, "timer_ns": timer_ns}),
        Result("point→grid single, p99", len(xs), "µs/call", single_p99, 1e6 / tree_rate,
               "STRtree.query + contains per point", higher_is_better=False,
               goal="≤3 µs", goal_met=single_p99 <= SINGLE_GOAL_US),
    ]
    report(results, name="locator")
    print(f"batch first (cold) call: {args.points / cold_s:,.0f} points/s; best of 5: {batch_rate:,.0f}")
    print(f"single-call mean (tight loop): {mean_us:.3f} µs; timer overhead subtracted: {timer_ns:.0f} ns")
    if total_bad:
        raise SystemExit(f"linli disagrees with the reference on {total_bad} points")


if __name__ == "__main__":
    main()
