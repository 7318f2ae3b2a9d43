"""Pure rules of the registry: who comes first in an emergency.

No ORM here. The cockpit's emergency list and the registry's per-building digest
(:class:`linli.registry.models.BuildingDigest`) rank households by the same rules, so they
live below both.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from linli.registry.choices import TagKind

CHILD_AGE = 14

# Emergency priority, most urgent first: who cannot leave on their own (bedridden before
# disabled: they must be carried), then who lives alone, the very old and the pregnant who
# need a hand on the stairs, then who needs help to understand or decide. Children count
# by birth date when they carry no tag.
CHILD = "child"
PRIORITY_KINDS: tuple[str, ...] = (
    TagKind.BEDRIDDEN, TagKind.DISABLED, TagKind.LIVING_ALONE_ELDER, TagKind.OLDEST_OLD, TagKind.PREGNANT,
    TagKind.SEVERE_MENTAL, TagKind.LEFT_BEHIND_CHILD, CHILD, TagKind.EMPTY_NEST_ELDER, TagKind.SUBSISTENCE,
)
EMERGENCY_TAGS: frozenset[str] = frozenset(k for k in PRIORITY_KINDS if k != CHILD)
NOT_VULNERABLE = len(PRIORITY_KINDS)


def kind_rank(kind: str) -> int:
    return PRIORITY_KINDS.index(kind) if kind in PRIORITY_KINDS else NOT_VULNERABLE


def household_priority(kinds: Iterable[str]) -> int:
    """The rank of the household's most urgent member; ``NOT_VULNERABLE`` when none is."""
    return min((kind_rank(k) for k in kinds), default=NOT_VULNERABLE)


def is_child(birth_date: date | None, on: date) -> bool:
    if birth_date is None:
        return False
    years = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    return years < CHILD_AGE


def child_cutoff(on: date) -> date:
    """Born after this day means a child on ``on`` (same rule as :func:`is_child`)."""
    year = on.year - CHILD_AGE
    return on.replace(year=year) if not (on.month == 2 and on.day == 29) else date(year, 2, 28)


def sorted_kinds(kinds: Iterable[str]) -> list[str]:
    return sorted(set(kinds), key=lambda k: (kind_rank(k), k))
