"""Patrol coverage (issue 22): how many of a grid's buildings a month of tracks passed within
50 m of, by cells (``linli.field.workflow.buildings_covered``) against every pair measured by
great circle (``linli.geo.measure.distance_m``, stopping at the first point close enough).

A month of one worker: ``--points`` track points (default 10,000: 20 patrols of 500 points,
one every 15 s) wandering over a grid of ``--buildings`` buildings (default 400, a large grid)
about 1 km across. Both methods must give the same count (checked). Goal: the statistics page's
per-worker share in ≤ 50 ms.

    python -m benchmarks.bench_field_coverage [--points 10000] [--buildings 400]

Pure Python, no database.
"""

from __future__ import annotations

import argparse
import math
import random

from benchmarks.harness import Result, best_of, report
from linli.field.workflow import COVERAGE_RADIUS_M, buildings_covered
from linli.geo.measure import distance_m

GOAL_MS = 50
LAT0, LON0 = 30.2, 120.2
M_LAT = 1 / 111_320
M_LON = M_LAT / math.cos(math.radians(LAT0))


def _workload(points: int, buildings: int) -> tuple[list[tuple[float, float]], list[list[float]]]:
    rng = random.Random(22)
    places = [
        (LON0 + rng.uniform(0, 1000) * M_LON, LAT0 + rng.uniform(0, 1000) * M_LAT)
        for _ in range(buildings)
    ]
    # A walk along streets of the grid's western half: steps of up to 15 m, turning now and then.
    track: list[list[float]] = []
    x, y, heading = 100.0, 100.0, 0.0
    for t in range(points):
        if rng.random() < 0.05:
            heading = rng.choice((0.0, 90.0, 180.0, 270.0))
        step = rng.uniform(0, 15)
        x = min(max(x + step * math.cos(math.radians(heading)), 0), 500)
        y = min(max(y + step * math.sin(math.radians(heading)), 0), 1000)
        track.append([LON0 + x * M_LON, LAT0 + y * M_LAT, t])
    return places, track


def _every_pair(places: list[tuple[float, float]], track: list[list[float]]) -> int:
    return sum(
        any(distance_m(lon, lat, p[0], p[1]) <= COVERAGE_RADIUS_M for p in track)
        for lon, lat in places
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--buildings", type=int, default=400)
    args = parser.parse_args()
    places, track = _workload(args.points, args.buildings)
    fast = buildings_covered(places, track)
    slow = _every_pair(places, track)
    # Plane vs sphere may differ for a building within centimetres of the 50 m edge.
    assert abs(fast - slow) <= 1, (fast, slow)
    cells_s = best_of(lambda: buildings_covered(places, track), repeat=5)
    pairs_s = best_of(lambda: _every_pair(places, track), repeat=1)
    ms = cells_s * 1000
    report(
        [
            Result(
                bench="field coverage (cells vs every pair)",
                size=args.points,
                unit="ms",
                linli=round(ms, 2),
                baseline=round(pairs_s * 1000, 1),
                baseline_name="every pair, haversine",
                higher_is_better=False,
                goal=f"≤ {GOAL_MS} ms",
                goal_met=ms <= GOAL_MS,
                notes=f"{args.buildings} buildings, {fast} covered",
            )
        ],
        name="field_coverage",
    )


if __name__ == "__main__":
    main()
