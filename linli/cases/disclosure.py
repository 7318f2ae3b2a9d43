"""Pure rules of what the public may read of a case (the Open311 feed). No ORM here.

A case is published only through its ``public_description``; this module masks whatever
personal data still reaches a public text, and cuts addresses to the building:

- ID numbers, 18 or 15 digits, with spaces or dashes anywhere (``3301 0219 9001 0112 37``)
  → ``3301**********1237``;
- mobile numbers in any common notation (``138-1234-5678``, ``138 1234 5678``,
  ``+86 13812345678``, ``0086-138…``) → ``138****5678``;
- landlines with an area code (``0571-87654321``, ``(0571)87654321``, ``+86 571 87654321``)
  → ``0571-********``; any other run of seven or more digits (a local number, a bank card)
  → all stars, dates (``2026-12-07``) and case numbers (``AJ-20261207-0001``) excepted;
- unit, floor and room in any notation (``3-2-502``, ``3幢2单元502室``, ``二幢三单元五零二室``,
  ``3栋2-502``) → the building only (``3幢``, ``二幢``, ``3栋``).

Full-width digits and brackets (``１３８``, ``（0571）``) are read as half-width ones first.
Masking errs on the side of hiding: a number that merely looks like a phone is starred too.
Not caught: numbers spelled in Chinese characters (一三八…) and names — which is why staff
choose the public text instead of the feed filtering the internal one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from linli.cases.choices import CaseSource

# Channels where the reporter is the resident: their own words are public by default.
# Everything else (patrol, staff, 12345, departments, devices) is public only as staff choose.
RESIDENT_SOURCES: frozenset[str] = frozenset({CaseSource.RESIDENT, CaseSource.OPEN311})

# Not after a letter, digit or mask star: "AJ-2026…" and "3301****…" are not new numbers.
_START = r"(?<![0-9A-Za-z*])"
_END = r"(?![0-9A-Za-z*])"
# Between two digits: nothing, or up to three of space, dot and any dash ("138 - 1234", "138—1234").
_SEP = r"[\s\-.－‐–—]{0,3}"
_ID_SEP = r"[\s\-－‐–—]{0,3}"

# Region codes start with 1-6, so "0086 13812345678" is never read as a 15-digit ID.
_ID_NUMBER = re.compile(
    rf"{_START}([1-9](?:{_ID_SEP}\d){{16}}{_ID_SEP}[\dXx]|[1-9](?:{_ID_SEP}\d){{14}}){_END}",
)
_MOBILE = re.compile(
    rf"{_START}(?:\(?(?:\+|00)\s?86\)?{_SEP}|86[\s\-])?(1[3-9](?:{_SEP}\d){{9}}){_END}",
)
_LANDLINE = re.compile(
    rf"{_START}(?:(?:\+|00)\s?86[\s\-]?\(?0?(\d{{2,3}})\)?"  # +86 571 87654321
    rf"|\(\s?(0\d{{2,3}})\s?\)|(0\d{{2,3}}))"               # (0571) or 0571
    rf"{_SEP}([2-9]\d{{2,3}}{_SEP}\d{{4}})"                   # 8765 4321, 87654321
    rf"(?:\s?(?:-|转|ext\.?)\s?\d{{1,5}})?{_END}",           # extension
)
_DATE = r"(?:19|20)\d{2}[-./](?:0?[1-9]|1[0-2])[-./](?:0?[1-9]|[12]\d|3[01])"
# Not from the start of a date: "2026-12-07 10:30" keeps its date and time.
_LONG_NUMBER = re.compile(rf"{_START}(?<![A-Za-z]-)(?!{_DATE}(?!\d))\d(?:{_SEP}\d){{6,}}{_END}")

# Building, unit, floor and room numbers: Arabic, Chinese (二, 十二, 五零二) or a letter (B座).
_NUM = r"[0-9零〇一二两三四五六七八九十百壹贰叁肆伍陆柒捌玖拾]+"
_BUILDING = rf"(?:{_NUM}|[A-Za-z])\s*(?:号楼|幢|栋|座)"
_DASHES = "-－‐–—"
_DASH = rf"\s*[{_DASHES}]\s*"
_TRIPLE = re.compile(rf"(?<![\d*])(\d{{1,3}}){_DASH}\d{{1,2}}{_DASH}\d{{1,4}}(?:\s*[室号])?(?![\d*])")
_BUILDING_THEN_PAIR = re.compile(rf"({_BUILDING})\s*-?\s*{_NUM}{_DASH}{_NUM}(?:\s*[室号])?")
_UNIT_OR_ROOM = re.compile(rf"{_NUM}\s*(?:单元|室|层|楼(?![道梯房顶下上]))")
_BUILDING_THEN_NUMBER = re.compile(rf"({_BUILDING})\s*[-－]?\s*{_NUM}(?![0-9零〇一二两三四五六七八九十百*幢栋座号])")
_NUMBER_THEN_NUMBER = re.compile(r"(\d号)[-－]?\d{1,4}(?![\d*幢栋座号楼])")
_PAIR = re.compile(rf"(?<![\d*\-])(\d{{1,3}}){_DASH}\d{{3,4}}(?:\s*室)?(?![\d*\-])")
_BUILDING_PREFIX = re.compile(rf"^(.*?{_BUILDING})")


# Full-width digits, letters, brackets, plus, dashes and space to half-width; Chinese
# punctuation (,。) stays as typed.
_HALF_WIDTH: dict[int, int] = {
    **{code: code - 0xFEE0 for code in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))},
    **{ord(wide): ord(narrow) for wide, narrow in zip("（）＋－\u3000", "()+- ", strict=True)},
}


def _digits(text: str) -> str:
    return re.sub(r"[^\dXx]", "", text)


def _mask_id(match: re.Match[str]) -> str:
    digits = _digits(match.group(0)).upper()
    return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]


def _mask_mobile(match: re.Match[str]) -> str:
    digits = _digits(match.group(1))
    return f"{digits[:3]}****{digits[-4:]}"


def _mask_landline(match: re.Match[str]) -> str:
    area = match.group(1) or match.group(2) or match.group(3)
    area = area if area.startswith("0") else "0" + area
    return f"{area}-{'*' * len(_digits(match.group(4)))}"


def _mask_long(match: re.Match[str]) -> str:
    found = match.group(0)
    return "*" * len(_digits(found))


# Cheap checks first: most public texts (service names, notices, short descriptions) hold
# fewer than seven digits and no flat, and skip the patterns below.
_LONG = 7  # the fewest digits of a number masked here (a local landline)


_HAS_WIDE = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a（）＋－\u3000]")
_HAS_DASH = re.compile(r"[-－‐–—]")
_HAS_UNIT_OR_ROOM = re.compile(r"[元室层楼]")
_HAS_BUILDING = re.compile(r"[幢栋座号]")


def _digit_count(text: str) -> int:
    return sum(map(text.count, "0123456789"))


def mask_identifiers(text: str) -> str:
    """``text`` with ID numbers, mobile and landline numbers masked (not yet other long numbers:
    ``10-1-1001`` is a flat before it is a number, see :func:`public_text`)."""
    if _HAS_WIDE.search(text):
        text = text.translate(_HALF_WIDTH)
    if _digit_count(text) < _LONG:
        return text
    text = _ID_NUMBER.sub(_mask_id, text)
    text = _MOBILE.sub(_mask_mobile, text)
    return _LANDLINE.sub(_mask_landline, text)


def cut_below_building(text: str) -> str:
    """Unit, floor and room removed wherever they appear: ``钱塘小区 3-2-502`` → ``钱塘小区 3幢``."""
    # Each step only when its marker is in the text at all: a one-character search costs next
    # to nothing, a pattern scan does (the feed masks up to 1,000 rows per request).
    dashed = _HAS_DASH.search(text) is not None
    if dashed:
        text = _TRIPLE.sub(r"\1幢", text)
        text = _BUILDING_THEN_PAIR.sub(r"\1", text)
    if _HAS_UNIT_OR_ROOM.search(text):
        text = _UNIT_OR_ROOM.sub("", text)
    if _HAS_BUILDING.search(text):
        text = _BUILDING_THEN_NUMBER.sub(r"\1", text)
        text = _NUMBER_THEN_NUMBER.sub(r"\1", text)
    return _PAIR.sub(r"\1幢", text) if dashed else text


@functools.lru_cache(maxsize=4096)
def public_text(text: str) -> str:
    """Free text as the public may read it: identifiers masked, addresses cut to the building,
    then any remaining run of seven or more digits starred."""
    text = cut_below_building(mask_identifiers(text))
    if _digit_count(text) >= _LONG:
        text = _LONG_NUMBER.sub(_mask_long, text)
    return text.strip()


def public_address(address: str) -> str:
    """An address down to the building: ``望江路88号3幢2单元502室`` → ``望江路88号3幢``."""
    text = public_text(address)
    found = _BUILDING_PREFIX.match(text)
    return (found.group(1) if found else text).strip()


def default_public_description(source: str, description: str) -> str:
    """A new case's public text when nobody chose one: a resident's own words, masked;
    nothing for a case entered by staff or a device (staff choose what is public)."""
    return public_text(description) if source in RESIDENT_SOURCES else ""


def public_row(row: Mapping[str, Any], *, keep: Iterable[str]) -> dict[str, Any]:
    """A row for a public feed: every text value through :func:`public_text` (the address
    through :func:`public_address`) except the keys in ``keep`` (identifiers, codes)."""
    kept = set(keep)
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in kept or not isinstance(value, str):
            out[key] = value
        elif key == "address":
            out[key] = public_address(value)
        else:
            out[key] = public_text(value)
    return out
