"""Pure rules of the phone app: the order of today's work, which refusals are conflicts,
what a correction may name, and a patrol track's checks. No ORM here."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from linli.field.choices import CorrectionTarget

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


def track_length_m(points: Sequence[Sequence[float]]) -> float:
    return sum(haversine_m(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(points))
