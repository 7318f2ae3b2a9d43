"""Households and residents of an old urban street, and their key-population tags.

Household kinds and weights are tuned so the default street shows what the source material
describes for Hangzhou's old city: about 2.5 persons per household, a quarter aged 60+, one
in twenty aged 80+, a fifth migrants (most of them renting), many elderly couples and
elders living alone.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from linli.demo.identity import (
    LOCAL_CODES,
    MIGRANT_CODES,
    ZHEJIANG_CODES,
    AreaCodePicker,
    mobile,
    ric_number,
)
from linli.demo.names import FOREIGN_NAMES, NameMaker
from linli.registry.choices import HukouStatus, Relation, Sex

REFERENCE_DATE: Final = date(2026, 1, 1)

LOCAL: Final = HukouStatus.LOCAL.value
MIGRANT: Final = HukouStatus.MIGRANT.value
FOREIGN: Final = HukouStatus.FOREIGN.value


@dataclass(slots=True)
class Member:
    """A household member before names and numbers are drawn."""

    age: int
    male: bool
    relation: str
    hukou: str
    surname_of: int | None = None  # index of the member whose surname a child takes
    left_behind: bool = False


def _man(age: int, relation: str, hukou: str, surname_of: int | None = None) -> Member:
    return Member(age, male=True, relation=relation, hukou=hukou, surname_of=surname_of)


def _woman(age: int, relation: str, hukou: str, surname_of: int | None = None) -> Member:
    return Member(age, male=False, relation=relation, hukou=hukou, surname_of=surname_of)


def _tri(rng: random.Random, low: int, high: int, mode: int) -> int:
    return min(high, max(low, int(rng.triangular(low, high + 1, mode))))


def _spouse_age(rng: random.Random, husband: int, *, minimum: int = 20) -> int:
    return max(minimum, husband - _tri(rng, -2, 7, 2))


def _children(rng: random.Random, mother_age: int, count: int, hukou: str, surname_of: int,
              relation: str = Relation.CHILD.value) -> list[Member]:
    first = mother_age - _tri(rng, 22, 38, 28)
    kids = []
    for k in range(count):
        age = first - k * _tri(rng, 2, 8, 3)
        if age < 0:
            break
        kids.append(Member(age, rng.random() < 0.51, relation, hukou, surname_of))
    return kids


HEAD: Final = Relation.HEAD.value
SPOUSE: Final = Relation.SPOUSE.value
CHILD: Final = Relation.CHILD.value
PARENT: Final = Relation.PARENT.value
OTHER: Final = Relation.OTHER.value


def _maybe_migrant(rng: random.Random, share: float) -> str:
    return MIGRANT if rng.random() < share else LOCAL


def _solo_elder(rng: random.Random) -> list[Member]:
    members = [Member(_tri(rng, 62, 98, 76), rng.random() < 0.3, HEAD, LOCAL)]
    if rng.random() < 0.06:  # a live-in carer (保姆) from elsewhere
        members.append(_woman(_tri(rng, 40, 62, 52), OTHER, MIGRANT))
    return members


def _solo_adult(rng: random.Random) -> list[Member]:
    return [Member(_tri(rng, 22, 59, 32), rng.random() < 0.55, HEAD, LOCAL)]


def _couple(rng: random.Random, low: int, high: int, mode: int, hukou: str = LOCAL) -> list[Member]:
    husband = _tri(rng, low, high, mode)
    wife = _spouse_age(rng, husband, minimum=low - 2)
    wife_hukou = hukou if hukou != LOCAL else _maybe_migrant(rng, 0.06)
    if rng.random() < 0.85:
        return [_man(husband, HEAD, hukou), _woman(wife, SPOUSE, wife_hukou)]
    return [_woman(wife, HEAD, wife_hukou), _man(husband, SPOUSE, hukou)]


def _elder_couple(rng: random.Random) -> list[Member]:
    return _couple(rng, 60, 94, 68)


def _young_couple(rng: random.Random) -> list[Member]:
    return _couple(rng, 24, 62, 34)


def _nuclear(rng: random.Random, children: int, hukou: str = LOCAL) -> list[Member]:
    parents = _couple(rng, 27, 62, 42, hukou)
    father = 0 if parents[0].male else 1
    mother_age = parents[1 - father].age
    return parents + _children(rng, mother_age, children, hukou, father)


def _couple_child(rng: random.Random) -> list[Member]:
    return _nuclear(rng, 1)


def _couple_two_children(rng: random.Random) -> list[Member]:
    return _nuclear(rng, 2)


def _three_generations(rng: random.Random) -> list[Member]:
    father = _tri(rng, 30, 58, 40)
    mother = _spouse_age(rng, father)
    kids = 1 if rng.random() < 0.7 else 2
    grandpa = father + _tri(rng, 23, 34, 27)
    grandma = _spouse_age(rng, grandpa)
    grandparents = [g for g in ((grandpa, True), (grandma, False)) if g[0] < 100]
    if len(grandparents) == 2 and rng.random() < 0.35:  # one grandparent widowed
        grandparents.pop(rng.randrange(2))
    if rng.random() < 0.6:  # the middle generation heads the household
        members = [_man(father, HEAD, LOCAL), _woman(mother, SPOUSE, _maybe_migrant(rng, 0.06))]
        # The grandfather is the head's father and shares his surname.
        members += [Member(age, male, PARENT, LOCAL, 0 if male else None) for age, male in grandparents]
        return members + _children(rng, mother, kids, LOCAL, 0)
    members = []
    for age, male in grandparents:
        members.append(Member(age, male, HEAD if not members else SPOUSE, LOCAL))
    members.append(_man(father, CHILD, LOCAL, 0 if members[0].male else None))
    members.append(_woman(mother, Relation.CHILD_IN_LAW.value, LOCAL))
    return members + _children(rng, mother, kids, LOCAL, len(members) - 2, Relation.GRANDCHILD.value)


def _elder_with_adult_child(rng: random.Random) -> list[Member]:
    elder = Member(_tri(rng, 64, 98, 78), rng.random() < 0.35, HEAD, LOCAL)
    child = Member(max(30, elder.age - _tri(rng, 22, 36, 28)), rng.random() < 0.5, CHILD, LOCAL, 0)
    if rng.random() < 0.5:
        elder.relation, child.relation, child.surname_of = PARENT, HEAD, None
        return [child, elder]
    return [elder, child]


def _single_parent(rng: random.Random) -> list[Member]:
    parent = Member(_tri(rng, 30, 56, 42), rng.random() < 0.25, HEAD, LOCAL)
    return [parent, *_children(rng, parent.age, 1, LOCAL, 0)] if parent.age > 24 else [parent]


def _skip_generation(rng: random.Random) -> list[Member]:
    grandpa = _tri(rng, 56, 78, 64)
    members = [_man(grandpa, HEAD, LOCAL), _woman(_spouse_age(rng, grandpa), SPOUSE, LOCAL)]
    child = Member(_tri(rng, 3, 15, 9), rng.random() < 0.5, Relation.GRANDCHILD.value, LOCAL, 0)
    child.left_behind = True
    return [*members, child]


def _migrant_single(rng: random.Random) -> list[Member]:
    return [Member(_tri(rng, 19, 55, 28), rng.random() < 0.6, HEAD, MIGRANT)]


def _migrant_couple(rng: random.Random) -> list[Member]:
    return _couple(rng, 22, 58, 33, MIGRANT)


def _migrant_family(rng: random.Random) -> list[Member]:
    return _nuclear(rng, 1 if rng.random() < 0.6 else 2, MIGRANT)


def _migrant_shared(rng: random.Random) -> list[Member]:
    count = rng.choice((2, 2, 3, 3, 4))
    male = rng.random() < 0.6  # flat-shares are mostly single-sex
    return [Member(_tri(rng, 19, 40, 25), male, HEAD if k == 0 else OTHER, MIGRANT) for k in range(count)]


def _foreigners(rng: random.Random) -> list[Member]:
    first = Member(_tri(rng, 24, 62, 35), rng.random() < 0.55, HEAD, FOREIGN)
    if rng.random() < 0.35:
        return [first, Member(_tri(rng, 24, 62, first.age), not first.male, SPOUSE, FOREIGN)]
    return [first]


@dataclass(frozen=True)
class HouseholdKind:
    """A household template with its weight and the chance it rents its room."""

    name: str
    weight: float
    rent: float
    make: Callable[[random.Random], list[Member]]


HOUSEHOLD_KINDS: Final = (
    HouseholdKind("solo_elder", 9.0, 0.02, _solo_elder),
    HouseholdKind("solo_adult", 4.0, 0.18, _solo_adult),
    HouseholdKind("elder_couple", 14.5, 0.01, _elder_couple),
    HouseholdKind("young_couple", 7.0, 0.12, _young_couple),
    HouseholdKind("couple_child", 20.0, 0.04, _couple_child),
    HouseholdKind("couple_two_children", 5.0, 0.03, _couple_two_children),
    HouseholdKind("three_generations", 9.5, 0.01, _three_generations),
    HouseholdKind("elder_with_adult_child", 5.0, 0.01, _elder_with_adult_child),
    HouseholdKind("single_parent", 3.0, 0.05, _single_parent),
    HouseholdKind("skip_generation", 0.6, 0.0, _skip_generation),
    HouseholdKind("migrant_single", 7.5, 0.68, _migrant_single),
    HouseholdKind("migrant_couple", 5.5, 0.62, _migrant_couple),
    HouseholdKind("migrant_family", 5.5, 0.5, _migrant_family),
    HouseholdKind("migrant_shared", 2.5, 0.95, _migrant_shared),
    HouseholdKind("foreigners", 0.7, 0.9, _foreigners),
)
_KIND_CUMULATIVE: Final = list(itertools.accumulate(k.weight for k in HOUSEHOLD_KINDS))


def pick_household_kind(rng: random.Random) -> HouseholdKind:
    index = bisect.bisect(_KIND_CUMULATIVE, rng.random() * _KIND_CUMULATIVE[-1])
    return HOUSEHOLD_KINDS[index]


_MINORITIES: Final = (
    ("回族", 12), ("满族", 10), ("畲族", 10), ("土家族", 12), ("苗族", 14), ("壮族", 8),
    ("蒙古族", 5), ("侗族", 6), ("布依族", 5), ("彝族", 4), ("朝鲜族", 3), ("瑶族", 3),
    ("白族", 3), ("维吾尔族", 2), ("藏族", 1),
)
_MINORITY_CUMULATIVE: Final = list(itertools.accumulate(w for _, w in _MINORITIES))


def _phone_chance(age: int) -> float:
    if age < 12:
        return 0.0
    if age < 18:
        return 0.6
    if age < 70:
        return 0.97
    return 0.8 if age < 80 else 0.45


def birth_from_age(rng: random.Random, age: int) -> date:
    return REFERENCE_DATE - timedelta(days=age * 365 + age // 4 + rng.randrange(1, 365))


def anniversary(birth: date, years: int) -> date:
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # 29 February
        return birth.replace(year=birth.year + years, day=28)


class PersonMaker:
    """Turns household members into persons: names, birth dates, ID numbers, phones.

    Keeps the set of issued numbers so that no two residents share an ID number.
    """

    def __init__(self) -> None:
        self.names = NameMaker()
        self._local = AreaCodePicker(LOCAL_CODES)
        self._zhejiang = AreaCodePicker(ZHEJIANG_CODES)
        self._migrant = AreaCodePicker(MIGRANT_CODES)
        self._issued: set[int] = set()

    def id_number(self, rng: random.Random, *, hukou: str, birth: date, male: bool) -> str:
        if hukou == FOREIGN:
            return ""
        if hukou == LOCAL:
            picker = self._local if rng.random() < 0.88 else self._zhejiang
        else:
            picker = self._migrant
        while True:
            area = picker.pick(rng, birth.year)
            sequence = rng.randrange(500) * 2 + (1 if male else 0)
            number = ric_number(area, birth, sequence)
            key = int(number[:17])
            if key not in self._issued:
                self._issued.add(key)
                return number

    def phone(self, rng: random.Random, age: int) -> str:
        return mobile(rng) if rng.random() < _phone_chance(age) else ""

    def ethnicity(self, rng: random.Random, hukou: str) -> str:
        if hukou == FOREIGN:
            return "其他"
        share = 0.012 if hukou == LOCAL else 0.045
        if rng.random() >= share:
            return "汉族"
        index = bisect.bisect(_MINORITY_CUMULATIVE, rng.random() * _MINORITY_CUMULATIVE[-1])
        return _MINORITIES[index][0]

    def name(self, rng: random.Random, member: Member, birth: date, surname: str | None) -> tuple[str, str]:
        """(surname, full name); children pass their father's surname in."""
        if member.hukou == FOREIGN:
            return "", rng.choice(FOREIGN_NAMES)
        surname = surname or self.names.surname(rng, local=member.hukou == LOCAL)
        return surname, surname + self.names.given(rng, male=member.male, birth_year=birth.year)

    @staticmethod
    def sex(member: Member) -> str:
        return Sex.MALE.value if member.male else Sex.FEMALE.value


# (kind, source) of each tag the street's departments send us.
MINZHENG: Final = "民政"
CANLIAN: Final = "残联"
ZONGZHI: Final = "综治"
VETERANS_BUREAU: Final = "退役军人事务局"
GRID_SURVEY: Final = "网格采集"
JUSTICE: Final = "司法所"
WEIJIAN: Final = "卫健"

DISABILITY_CATEGORIES: Final = (
    ("肢体", 50), ("听力", 15), ("视力", 12), ("精神", 8), ("智力", 7), ("多重", 7), ("言语", 1),
)
_DISABILITY_CUMULATIVE: Final = list(itertools.accumulate(w for _, w in DISABILITY_CATEGORIES))


def disability_note(rng: random.Random) -> str:
    index = bisect.bisect(_DISABILITY_CUMULATIVE, rng.random() * _DISABILITY_CUMULATIVE[-1])
    grade = rng.choices((1, 2, 3, 4), weights=(10, 22, 30, 38))[0]
    return f"{DISABILITY_CATEGORIES[index][0]}残疾{'一二三四'[grade - 1]}级"


def disability_chance(age: int) -> float:
    if age < 18:
        return 0.012
    if age < 60:
        return 0.042
    return 0.10 if age < 80 else 0.21


def recent_date(rng: random.Random, *, not_before: date, max_days: int = 3000) -> date:
    """A date within the last ``max_days`` days, never before ``not_before``."""
    earliest = max(not_before, REFERENCE_DATE - timedelta(days=max_days))
    span = (REFERENCE_DATE - earliest).days
    return earliest + timedelta(days=rng.randrange(max(span, 1)))

