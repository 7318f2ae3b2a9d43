"""Identifiers for demo data: GB 11643 ID numbers, GB 32100 credit codes, mobile numbers.

Everything draws from a caller's ``random.Random`` so the same seed gives the same numbers.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from datetime import date
from typing import Final

# GB 11643: weights of the 17 body digits; the check character is indexed by sum mod 11.
_RIC_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RIC_CHECK: Final = "10X98765432"

# GB 32100 uses 31 characters (no I, O, Z, S, V); GB 11714 (the embedded organisation code)
# has its own check character.
USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)

# Cards carry the county code of the household registration at issue; 15-digit cards were
# first issued in 1984–85, so nobody holds a code older than that.
FIRST_ISSUE_YEAR: Final = 1985


def ric_check_char(body17: str) -> str:
    total = sum(int(ch) * w for ch, w in zip(body17, _RIC_WEIGHTS, strict=True))
    return _RIC_CHECK[total % 11]


def ric_number(area_code: str, birth: date, sequence: int) -> str:
    """An 18-digit number; ``sequence`` 0–999, odd for men (GB 11643 §4.3)."""
    body = f"{area_code}{birth:%Y%m%d}{sequence:03d}"
    return body + ric_check_char(body)


def _org_code_check(body8: str) -> str:
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def uscc_check_char(body17: str) -> str:
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(body17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def credit_code(rng: random.Random, *, authority_type: str, region: str) -> str:
    """A GB 32100 code such as ``91330102MA2H3K7L0X``; new entities carry ``MA…`` org codes."""
    if authority_type in {"91", "92"} and rng.random() < 0.7:
        body8 = "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(6))
    else:
        body8 = "".join(rng.choice("0123456789") for _ in range(8))
    org = body8 + _org_code_check(body8)
    body = f"{authority_type}{region}{org}"
    return body + uscc_check_char(body)


_MOBILE_PREFIXES: Final = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "147", "150", "151",
    "152", "153", "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "178",
    "180", "181", "182", "183", "184", "185", "186", "187", "188", "189", "191", "198", "199",
)


def mobile(rng: random.Random) -> str:
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"


@dataclass(frozen=True)
class AreaCode:
    """A county code with the years it was assigned (from the national code tables)."""

    code: str
    weight: float
    first: int = 0
    last: int = 9999


# Hangzhou districts where the street's own residents were registered; 下城/江干 merged in 2021.
LOCAL_CODES: Final = (
    AreaCode("330102", 42, 1983), AreaCode("330103", 14, 1983, 2021),
    AreaCode("330104", 14, 1983, 2021), AreaCode("330105", 6, 1983), AreaCode("330106", 9, 1983),
    AreaCode("330108", 2, 1996), AreaCode("330109", 2, 2001), AreaCode("330110", 2, 2001),
    AreaCode("330122", 1), AreaCode("330127", 1),
)
# Elsewhere in Zhejiang (people who moved their registration here, or migrants from there).
ZHEJIANG_CODES: Final = (
    AreaCode("330203", 2, 1983), AreaCode("330205", 1, 1983), AreaCode("330212", 1, 2002),
    AreaCode("330282", 1, 1989), AreaCode("330302", 2, 1983), AreaCode("330324", 2, 1981),
    AreaCode("330327", 1, 1981), AreaCode("330381", 1, 1989), AreaCode("330382", 1, 1993),
    AreaCode("330402", 1, 1983), AreaCode("330421", 1, 1983), AreaCode("330481", 1, 1989),
    AreaCode("330521", 1, 1983), AreaCode("330602", 2, 1983), AreaCode("330681", 2, 1989),
    AreaCode("330702", 1, 1985), AreaCode("330726", 1, 1985), AreaCode("330782", 1, 1989),
    AreaCode("330802", 1, 1985), AreaCode("330881", 1, 1989), AreaCode("330902", 1, 1987),
    AreaCode("331002", 1, 1994), AreaCode("331081", 1, 1994), AreaCode("331082", 1, 1994),
    AreaCode("331102", 1, 2000), AreaCode("331121", 1, 2000),
)
# Other provinces, weighted towards where Hangzhou's migrants come from (皖, 赣, 豫, 川, 黔 …).
MIGRANT_CODES: Final = (
    AreaCode("340121", 4), AreaCode("340122", 3, 1983), AreaCode("341221", 5, 1996),
    AreaCode("341222", 4, 1996), AreaCode("342422", 3, 0, 1999), AreaCode("341321", 2, 1998),
    AreaCode("341322", 2, 1998), AreaCode("340828", 2, 1988), AreaCode("341125", 2, 1992),
    AreaCode("341126", 2, 1992), AreaCode("341524", 2, 1999), AreaCode("340323", 2, 1983),
    AreaCode("340822", 2, 1988), AreaCode("362329", 3, 0, 2000), AreaCode("360121", 3),
    AreaCode("362330", 2, 0, 2000), AreaCode("360428", 2, 1983), AreaCode("362421", 1, 0, 2000),
    AreaCode("360731", 2, 1998), AreaCode("360732", 2, 1998), AreaCode("412726", 2, 0, 2000),
    AreaCode("411528", 2, 1998), AreaCode("411524", 2, 1998), AreaCode("412722", 1, 0, 2000),
    AreaCode("411721", 1, 2000), AreaCode("411627", 1, 2000), AreaCode("411421", 1, 1997),
    AreaCode("410325", 1, 1986), AreaCode("511321", 2, 1993), AreaCode("510921", 2, 1985),
    AreaCode("512501", 1, 0, 1996), AreaCode("511323", 1, 1993), AreaCode("510722", 2, 1985),
    AreaCode("511621", 1, 1998), AreaCode("431021", 1, 1994), AreaCode("430524", 2, 1986),
    AreaCode("430621", 1, 1983), AreaCode("430721", 1, 1988), AreaCode("522422", 2, 0, 2011),
    AreaCode("522426", 1, 0, 2011), AreaCode("520422", 1, 2000), AreaCode("520221", 1, 1987, 2020),
    AreaCode("421127", 2, 1995), AreaCode("420222", 1, 1996), AreaCode("421126", 1, 1995),
    AreaCode("422802", 1, 1986), AreaCode("321283", 1, 1996), AreaCode("320923", 1, 1983),
    AreaCode("320722", 1, 1983), AreaCode("320382", 1, 1992), AreaCode("370883", 1, 1992),
    AreaCode("371321", 1, 1994), AreaCode("370682", 1, 1989), AreaCode("350583", 1, 1993),
    AreaCode("350128", 1, 1983), AreaCode("350322", 1, 1983), AreaCode("620102", 1, 1983),
    AreaCode("621121", 1, 2003), AreaCode("500229", 1, 1997), AreaCode("500235", 1, 1997),
    AreaCode("500101", 1, 1997), AreaCode("500243", 1, 1997), AreaCode("450923", 1, 1997),
    AreaCode("450881", 1, 1995), AreaCode("130682", 1, 1994), AreaCode("610324", 1),
    AreaCode("230103", 1, 1983), AreaCode("110105", 1), AreaCode("310115", 1, 1992),
    AreaCode("440304", 1, 1983), *ZHEJIANG_CODES,
)


class AreaCodePicker:
    """Weighted choice of a county code that existed in the year the number was issued."""

    def __init__(self, codes: tuple[AreaCode, ...]) -> None:
        self._codes = codes
        self._by_year: dict[int, tuple[list[str], list[float]]] = {}

    def pick(self, rng: random.Random, birth_year: int) -> str:
        year = max(birth_year, FIRST_ISSUE_YEAR)
        table = self._by_year.get(year)
        if table is None:
            valid = [c for c in self._codes if c.first <= year <= c.last]
            table = ([c.code for c in valid], list(itertools.accumulate(c.weight for c in valid)))
            self._by_year[year] = table
        codes, cumulative = table
        return codes[bisect.bisect(cumulative, rng.random() * cumulative[-1])]
