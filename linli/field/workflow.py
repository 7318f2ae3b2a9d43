"""Pure rules of the phone app: the order of today's work, which refusals are conflicts,
what a correction may name, and a patrol track's checks. No ORM here."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from linli.core.calendar import SHANGHAI
from linli.field.choices import CorrectionTarget
from linli.geo.measure import M_PER_DEG_LAT

# Today's list: emergencies first, then alarms, then what carries a deadline, most urgent first.
TIER_EMERGENCY = 0
TIER_ALARM = 1
TIER_CASE_SUPERVISED = 2
TIER_CASE = 3
TIER_VISIT_OVERDUE = 4
TIER_VERIFY = 5
TIER_VISIT = 6
TIER_WORK_ORDER = 7

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

# Fields a worker may propose a correction for; the clerk edits the registry.
CORRECTION_FIELDS: dict[str, tuple[str, ...]] = {
    CorrectionTarget.PERSON: ("name", "phone", "room", "relation", "hukou", "is_deceased", "other"),
    CorrectionTarget.HOUSEHOLD: ("head", "members", "room", "other"),
    CorrectionTarget.ROOM: ("use", "number", "residents", "other"),
}

MAX_TRACK_POINTS = 5000
# A patrol longer than a working day is a phone left on, not a patrol.
MAX_PATROL_SECONDS = 16 * 3600


@dataclass(frozen=True)
class Urgency:
    tier: int
    due: datetime | None
    tie: int

    def key(self) -> tuple[int, bool, float, int]:
        return (self.tier, self.due is None, self.due.timestamp() if self.due else 0.0, self.tie)


def key_valid(key: str) -> bool:
    return bool(KEY_PATTERN.match(key or ""))


# Error codes of the other apps that mean "someone else changed it meanwhile".
CONFLICT_CODES = frozenset(
    {"conflict", "not_found", "action_not_allowed", "not_assignee", "role_not_allowed"}
)


def is_conflict(code: str) -> bool:
    """A refusal the worker did not cause by what he typed: the object moved on meanwhile."""
    return code in CONFLICT_CODES


def correction_field_allowed(target: str, field: str) -> bool:
    return field in CORRECTION_FIELDS.get(target, ())


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def track_clean(points: Sequence[Sequence[Any]]) -> list[list[float]]:
    """Points as ``[lon, lat, t]`` with plausible values, in time order; others dropped."""
    clean: list[list[float]] = []
    for point in points[:MAX_TRACK_POINTS]:
        if not isinstance(point, list | tuple) or len(point) < 3:
            continue
        try:
            lon, lat, t = float(point[0]), float(point[1]), float(point[2])
        except (TypeError, ValueError, OverflowError):
            continue
        if -180 <= lon <= 180 and -90 <= lat <= 90 and t > 0 and math.isfinite(lon + lat + t):
            clean.append([round(lon, 7), round(lat, 7), int(t)])
    clean.sort(key=lambda p: p[2])
    return clean


def track_line(points: Sequence[Sequence[float]]) -> list[list[float]]:
    """A stored track as GeoJSON LineString positions: [lon, lat], the times left out, and
    a point repeated in place (a phone standing still) only once."""
    line: list[list[float]] = []
    for point in points:
        position = [float(point[0]), float(point[1])]
        if not line or line[-1] != position:
            line.append(position)
    return line


# Tracks on a map: the last N days, today included (Shanghai days), at most a month.
MAX_TRACK_DAYS = 31


def track_window_start(today: date, days: int) -> datetime:
    """Midnight in Shanghai at the start of the last ``days`` days, ``today`` being the last."""
    return datetime.combine(today - timedelta(days=days - 1), time(0, 0), tzinfo=SHANGHAI)


def track_length_m(points: Sequence[Sequence[float]]) -> float:
    return sum(haversine_m(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(points))


# A building counts as patrolled when a track point came this close (metres): about the
# width of a street and a front yard, beyond the phone's usual 10–30 m GPS error.
COVERAGE_RADIUS_M = 50.0


def buildings_covered(
    buildings: Sequence[tuple[float, float]],
    points: Sequence[Sequence[float]],
    *,
    radius_m: float = COVERAGE_RADIUS_M,
) -> int:
    """How many buildings (lon, lat) have a track point (lon, lat, ...) within ``radius_m``.

    Points go into square cells of ``radius_m`` on a local plane (metres east and north of
    the first building, the latitude's cosine as in ``linli.geo.measure.bbox_around``); a
    building looks only at the 3 × 3 cells around its own, so the cost is about
    points + buildings, not points × buildings. Within 50 m the plane differs from the
    great circle by far less than a GPS error.
    """
    if not buildings or not points or radius_m <= 0:
        return 0
    lat0 = buildings[0][1]
    m_per_lon = M_PER_DEG_LAT * max(math.cos(math.radians(lat0)), 1e-6)
    lon0 = buildings[0][0]
    cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
    seen: set[tuple[int, int]] = set()
    for point in points:
        x, y = (point[0] - lon0) * m_per_lon, (point[1] - lat0) * M_PER_DEG_LAT
        # Points a metre apart add nothing: a standing phone reports the same place often.
        fine = (round(x), round(y))
        if fine in seen:
            continue
        seen.add(fine)
        cells.setdefault((math.floor(x / radius_m), math.floor(y / radius_m)), []).append((x, y))
    limit = radius_m * radius_m
    covered = 0
    for lon, lat in buildings:
        x, y = (lon - lon0) * m_per_lon, (lat - lat0) * M_PER_DEG_LAT
        cx, cy = math.floor(x / radius_m), math.floor(y / radius_m)
        if any(
            (px - x) ** 2 + (py - y) ** 2 <= limit
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for px, py in cells.get((cx + dx, cy + dy), ())
        ):
            covered += 1
    return covered


def coverage_share(covered: int, total: int) -> float | None:
    """Covered buildings as a share of all (0–1); ``None`` when the worker has no buildings."""
    return covered / total if total else None
