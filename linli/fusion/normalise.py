"""Normalisers for departmental exports: one pure function per kind of value, and a bulk path.

Every per-record function takes the raw cell (``str``, number, ``date`` or ``None``) and
returns the normalised value, or ``None`` together with a reason code (see :data:`REASONS`)
when the cell cannot be read. The bulk path (:func:`normalise_frame`) applies the same
functions to the *distinct* values of each column and joins the results back, so the two
paths cannot disagree and a 300,000-row export costs one call per distinct value.

No ORM and no settings are touched here: reason codes become Chinese messages only through
:func:`reason_message`, which callers use when they show or store them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

import opencc
import polars as pl
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from linli.registry.text import pinyin_keys
from linli.registry.validators import PROVINCE_CODES, id_number_check_char, upgrade_id_number_15

if TYPE_CHECKING:
    from linli.fusion.mapping import SourceDefinition

_CHINA: Final = ZoneInfo("Asia/Shanghai")

# --- reasons ---------------------------------------------------------------------------------

REASONS: Final[dict[str, Promise]] = {
    "empty": _("为空"),
    "name_invalid": _("姓名无法识别"),
    "id_length": _("身份证号长度应为18位(或旧版15位)"),
    "id_chars": _("身份证号含有无效字符"),
    "id_area": _("身份证号地区码无效"),
    "id_birth": _("身份证号出生日期无效"),
    "id_checksum": _("身份证号校验码错误"),
    "id_scientific": _("身份证号被表格软件显示为科学计数法,数字已丢失"),
    "date_format": _("日期格式无法识别"),
    "date_range": _("日期超出合理范围"),
    "sex_invalid": _("性别无法识别"),
    "phone_chars": _("电话号码含有无效字符"),
    "phone_format": _("电话号码格式无效(手机11位,座机需带区号)"),
    "address_unparsed": _("地址无法解析出楼栋、单元和室号"),
    "yes_no_invalid": _("是/否无法识别"),
    "grade_invalid": _("等级无法识别"),
    "int_invalid": _("不是整数"),
    "hukou_invalid": _("户籍类别无法识别"),
}


def local_today() -> date:
    """Today in China (the exports' dates are local)."""
    return datetime.now(tz=_CHINA).date()


def reason_message(code: str) -> str:
    """The Chinese message of a reason code (needs Django settings, unlike the rest)."""
    message = REASONS.get(code)
    return str(message) if message is not None else code


# --- text ------------------------------------------------------------------------------------

# Full-width ASCII (U+FF01–U+FF5E) → U+0021–U+007E; ideographic space → space.
_FULL_TO_HALF: Final = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_SPACES_RE: Final = re.compile(r"\s+")
# Middle-dot look-alikes in minority and foreign names (阿依·木拉提) → U+00B7.
_DOTS: Final = str.maketrans(dict.fromkeys("•・‧∙⋅･.。", "·"))
_DASHES: Final = str.maketrans(dict.fromkeys("—–―‐‑‒−~～_", "-"))
_BRACKETED_RE: Final = re.compile(r"[(\[【（][^)\]】）]*[)\]】）]")
_NAME_JUNK_RE: Final = re.compile(r"[^\w·]|\d|_")

_t2s = opencc.OpenCC("t2s")


def half_width(raw: str) -> str:
    """``１２３Ｘ　号`` → ``123X 号``; other characters are left alone."""
    return raw.translate(_FULL_TO_HALF)


# Conversions made in one OpenCC call for a whole column (see _prime_simplified); emptied
# after each frame so a long-running worker does not keep every name it has seen.
_T2S_DONE: dict[str, str] = {}


def simplified(raw: str) -> str:
    """Traditional → simplified Chinese (OpenCC ``t2s``): ``劉德華`` → ``刘德华``."""
    if not raw or raw.isascii():
        return raw
    done = _T2S_DONE.get(raw)
    return done if done is not None else str(_t2s.convert(raw))


def _prime_simplified(values: list[Any]) -> None:
    """Convert the distinct non-ASCII texts of a column in ONE OpenCC call (lines never join
    into a dictionary phrase, so each line converts as it would alone)."""
    todo = sorted({t for t in (half_width(str(v).strip()) for v in values)
                   if t and not t.isascii() and "\n" not in t and t not in _T2S_DONE})
    if not todo:
        return
    converted = str(_t2s.convert("\n".join(todo))).split("\n")
    if len(converted) == len(todo):
        _T2S_DONE.update(zip(todo, converted, strict=True))


def cell_text(raw: object) -> str:
    """A raw cell as trimmed text; ``None``/NaN → ``""``; floats that are integers lose ``.0``."""
    if raw is None:
        return ""
    if isinstance(raw, float):
        if raw != raw:  # NaN
            return ""
        return str(int(raw)) if raw.is_integer() else str(raw)
    return str(raw).strip()


def clean_text(raw: object) -> str:
    """Half-width, simplified, whitespace collapsed and trimmed."""
    return _SPACES_RE.sub(" ", simplified(half_width(cell_text(raw)))).strip()


# --- names -----------------------------------------------------------------------------------


def normalise_name(raw: object) -> str | None:
    """``劉 德華`` → ``刘德华``; ``阿依•木拉提`` → ``阿依·木拉提``; ``王芳(已故)`` → ``王芳``.

    Titles such as 先生/女士 are kept (they are rare and removing them can eat a real name).
    """
    text = _BRACKETED_RE.sub("", clean_text(raw)).translate(_DOTS)
    text = _NAME_JUNK_RE.sub("", text).strip("·")
    return text or None


@dataclass(frozen=True)
class NameKeys:
    """Search keys of a normalised name: full pinyin, initials, surname pinyin."""

    pinyin: str
    initials: str
    surname: str


@lru_cache(maxsize=262144)
def name_keys(name: str) -> NameKeys:
    """``王芳`` → ``NameKeys("wangfang", "wf", "wang")``; the surname is the first character.

    Compound surnames (欧阳) block on their first character: both sides do the same.
    """
    full, initials = pinyin_keys(name)
    surname = pinyin_keys(name[0])[0] if name else ""
    return NameKeys(full, initials, surname)


# --- ID numbers ------------------------------------------------------------------------------

_ID_SHAPE_RE: Final = re.compile(r"\d{17}[\dX]|\d{15}")
_SCIENTIFIC_RE: Final = re.compile(r"\d\.\d+E\+?17")


@dataclass(frozen=True)
class IdNumberResult:
    """A cleaned ID number. ``value`` keeps an ID-shaped but invalid number (a typo is still
    evidence for fuzzy matching); ``valid`` says whether it passed every check.
    """

    value: str | None
    valid: bool
    upgraded: bool = False
    error: str | None = None


def _id_birth(value: str, today: date) -> date | None:
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None
    return born if date(1890, 1, 1) <= born <= today else None


def normalise_id_number(raw: object, *, today: date | None = None) -> IdNumberResult:
    """Clean and validate a resident ID number (GB 11643): 18 characters or legacy 15 digits.

    ``３３０１０２１９５００３０５１２３ｘ`` → 18 upper-case characters; 15 digits are upgraded
    (century ``19`` and the check character). A checksum, area or birth-date failure keeps the
    value with ``valid=False``; a value that is not ID-shaped is dropped with its reason.
    """
    today = today or local_today()
    text = re.sub(r"[\s\-'`]", "", half_width(cell_text(raw))).upper()
    if not text:
        return IdNumberResult(None, valid=False, error="empty")
    if _SCIENTIFIC_RE.fullmatch(text):
        # Excel showed the number as 3.30102E+17: with 15 digits left it is still evidence
        # (the matcher allows for the lost tail); with fewer it is unusable.
        if len(text.split("E")[0].replace(".", "")) < 15:
            return IdNumberResult(None, valid=False, error="id_scientific")
        text = str(int(Decimal(text)))
    if len(text) not in (15, 18):
        return IdNumberResult(None, valid=False, error="id_length")
    if not _ID_SHAPE_RE.fullmatch(text):
        return IdNumberResult(None, valid=False, error="id_chars")
    upgraded = len(text) == 15
    value = upgrade_id_number_15(text) if upgraded else text
    if value[:2] not in PROVINCE_CODES:
        return IdNumberResult(value, valid=False, upgraded=upgraded, error="id_area")
    if _id_birth(value, today) is None:
        return IdNumberResult(value, valid=False, upgraded=upgraded, error="id_birth")
    if id_number_check_char(value[:17]) != value[17]:
        return IdNumberResult(value, valid=False, upgraded=upgraded, error="id_checksum")
    return IdNumberResult(value, valid=True, upgraded=upgraded)


def id_birth_date(value: str | None, *, today: date | None = None) -> date | None:
    """The birth date encoded in an ID-shaped value, if it is a plausible date."""
    if not value or len(value) != 18:
        return None
    return _id_birth(value, today or local_today())


def id_sex(value: str | None) -> str | None:
    """``M``/``F`` from the 17th character of an 18-character value."""
    if not value or len(value) != 18 or not value[16].isdigit():
        return None
    return "M" if int(value[16]) % 2 else "F"


# --- dates -----------------------------------------------------------------------------------

_EXCEL_EPOCH: Final = date(1899, 12, 30)  # 1900 date system, Lotus leap-year bug included
_DATE_PARTS_RE: Final = re.compile(r"(\d{2,4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_TIME_SUFFIX_RE: Final = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")


@dataclass(frozen=True)
class Parsed:
    """A normalised value or ``None`` with the reason code."""

    value: Any
    error: str | None = None


def _century(yy: int, today: date) -> int:
    # Two-digit years: not in the future, so 50 → 1950 and 05 → 2005 (in 2025).
    return 2000 + yy if 2000 + yy <= today.year else 1900 + yy


def _make_date(year: int, month: int, day: int, today: date) -> Parsed:
    try:
        value = date(year, month, day)
    except ValueError:
        return Parsed(None, "date_format")
    if not date(1890, 1, 1) <= value <= today:
        return Parsed(None, "date_range")
    return Parsed(value)


def normalise_date(raw: object, *, today: date | None = None) -> Parsed:
    """Dates as departments write them.

    ``19500305``, ``1950-3-5``, ``1950/03/05``, ``1950.3.5``, ``1950年3月5日``, ``50-3-5`` (two-digit
    years are not in the future), an Excel serial such as ``18327`` (as text or number),
    ``date``/``datetime`` objects, a trailing ``00:00:00``. Empty → ``empty``; otherwise
    ``date_format`` or ``date_range`` (before 1890 or in the future).
    """
    today = today or local_today()
    if isinstance(raw, datetime):
        return _make_date(raw.year, raw.month, raw.day, today)
    if isinstance(raw, date):
        return _make_date(raw.year, raw.month, raw.day, today)
    text = _TIME_SUFFIX_RE.sub("", half_width(cell_text(raw)).strip())
    if not text:
        return Parsed(None, "empty")
    if re.fullmatch(r"\d+(\.0+)?", text):
        digits = text.split(".")[0]
        if len(digits) == 8:
            return _make_date(int(digits[:4]), int(digits[4:6]), int(digits[6:]), today)
        if len(digits) == 6:
            return _make_date(_century(int(digits[:2]), today), int(digits[2:4]), int(digits[4:]), today)
        if len(digits) <= 5 and 0 < int(digits) <= 60000:  # an Excel serial; 60000 is in 2064
            serial = _EXCEL_EPOCH + timedelta(days=int(digits))
            return _make_date(serial.year, serial.month, serial.day, today)
        return Parsed(None, "date_format")
    match = _DATE_PARTS_RE.fullmatch(text)
    if match is None:
        return Parsed(None, "date_format")
    year_text, month, day = match.group(1), int(match.group(2)), int(match.group(3))
    if len(year_text) == 4:
        year = int(year_text)
    elif len(year_text) == 2:
        year = _century(int(year_text), today)
    else:
        return Parsed(None, "date_format")
    return _make_date(year, month, day, today)


# --- sex, phone, yes/no, grade ---------------------------------------------------------------

_SEX: Final = {
    "男": "M", "男性": "M", "M": "M", "MALE": "M", "1": "M", "乾": "M",
    "女": "F", "女性": "F", "F": "F", "FEMALE": "F", "2": "F", "坤": "F",
}


def normalise_sex(raw: object) -> Parsed:
    """``男``/``M``/``1`` → ``M``; ``女``/``F``/``2`` → ``F`` (GB/T 2261.1 codes)."""
    text = clean_text(raw).upper().replace(" ", "")
    if not text:
        return Parsed(None, "empty")
    value = _SEX.get(text)
    return Parsed(value) if value else Parsed(None, "sex_invalid")


_MOBILE_RE: Final = re.compile(r"1[3-9]\d{9}")
_LANDLINE_RE: Final = re.compile(r"0\d{2,3}\d{7,8}")


def normalise_phone(raw: object) -> Parsed:
    """``+86 138-1234-5678`` / ``0086…`` → ``13812345678``; ``0571-8765 4321`` → ``057187654321``.

    An 8-digit local number without its area code cannot be told apart across cities and is
    refused (``phone_format``).
    """
    text = re.sub(r"[\s\-()（）.]", "", half_width(cell_text(raw)).translate(_DASHES))
    if not text:
        return Parsed(None, "empty")
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if not text.isascii() or not text.isdigit():
        return Parsed(None, "phone_chars")
    if _MOBILE_RE.fullmatch(text) or _LANDLINE_RE.fullmatch(text):
        return Parsed(text)
    return Parsed(None, "phone_format")


_YES: Final = frozenset({"是", "有", "Y", "YES", "TRUE", "1", "√", "已故", "死亡", "T"})
_NO: Final = frozenset({"否", "无", "N", "NO", "FALSE", "0", "×", "X", "健在", "F"})


def normalise_yes_no(raw: object) -> Parsed:
    """``是``/``Y``/``1``/``√`` → True; ``否``/``N``/``0`` → False; empty → ``None`` (unknown)."""
    text = clean_text(raw).upper()
    if not text:
        return Parsed(None, "empty")
    if text in _YES:
        return Parsed(True)  # noqa: FBT003 - a parsed value, not a flag argument
    if text in _NO:
        return Parsed(False)  # noqa: FBT003
    return Parsed(None, "yes_no_invalid")


_CN_DIGITS: Final = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
                     "六": 6, "七": 7, "八": 8, "九": 9}


def chinese_number(text: str) -> int | None:
    """``三`` → 3, ``十二`` → 12, ``二十`` → 20, ``12`` → 12 (up to 99)."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in _CN_DIGITS and c != "十" for c in text):
        return None
    if "十" not in text:
        value = 0
        for c in text:
            value = value * 10 + _CN_DIGITS[c]
        return value
    tens, _sep, ones = text.partition("十")
    if "十" in ones:
        return None
    return (_CN_DIGITS.get(tens, 0) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)


_GRADE_RE: Final = re.compile(r"^(?:第)?([一二三四1-4])(?:级|级别)?$")


def normalise_grade(raw: object) -> Parsed:
    """Disability grade: ``一级``/``1级``/``1``/``Ⅱ``/``三``/``四级`` → 1…4."""
    text = clean_text(raw).replace(" ", "").translate(str.maketrans("ⅠⅡⅢⅣ", "1234"))
    if not text:
        return Parsed(None, "empty")
    match = _GRADE_RE.match(text)
    if match is None:
        return Parsed(None, "grade_invalid")
    return Parsed(chinese_number(match.group(1)))


def normalise_int(raw: object) -> Parsed:
    text = clean_text(raw)
    if not text:
        return Parsed(None, "empty")
    value = chinese_number(text.removesuffix(".0"))
    return Parsed(value) if value is not None else Parsed(None, "int_invalid")


# --- addresses -------------------------------------------------------------------------------

_PROVINCE_RE: Final = re.compile(r"^[\u4e00-\u9fff]{2,7}?(省|自治区)")
_CITY_RE: Final = re.compile(r"^[\u4e00-\u9fff]{2,4}?市(?!场)")
# A district or county, but not the 小区/园区/社区 that end many compound names.
_DISTRICT_RE: Final = re.compile(r"^[\u4e00-\u9fff]{1,3}?(?<![小园社校营])(区|县)")
_STREET_RE: Final = re.compile(r"^[\u4e00-\u9fff]{2,5}?(街道|镇|乡)")
_COMMUNITY_RE: Final = re.compile(r"^[\u4e00-\u9fff]{2,5}?社区(?:居委会)?")
_ROAD_RE: Final = re.compile(r"^([\u4e00-\u9fff]{1,8}?(?:路|街|巷|弄|大道))(\d+)号(?!楼)")
_CN_NUM: Final = "零〇一二两三四五六七八九十"
_UNIT_TAIL_RE: Final = re.compile(
    rf"(?P<b>\d+|[{_CN_NUM}]+)\s*(?P<bw>幢|栋|号楼|号|座|#|-)"
    rf"\s*(?:(?P<u>\d+|[{_CN_NUM}]+)\s*(?:单元|-))?"
    r"\s*(?:(?P<r>\d+)\s*(?:室|号|房)?)?$"
)


_BUILDING_WORDS: Final = frozenset({"幢", "栋", "号楼", "座"})


@dataclass(frozen=True)
class Address:
    """A normalised address and its parsed key (compound, building, unit, room); parts that
    could not be read are empty strings.
    """

    norm: str
    compound: str = ""
    building: str = ""
    unit: str = ""
    room: str = ""
    road: str = ""
    road_number: str = ""

    @property
    def building_key(self) -> str:
        """``<compound>|<building no>`` as the registry stores it; ``""`` without a compound
        (``12-3-502`` alone could be any compound's building 12).
        """
        return f"{self.compound}|{self.building}" if self.building and self.compound else ""

    @property
    def parsed(self) -> bool:
        return bool(self.building)


def building_key(compound: str, building_name: str) -> str:
    """The registry side of the key: ``("幸福里", "1幢")`` or ``("幸福里", "1")`` → ``幸福里|1``."""
    building_name = building_name.strip()
    if building_name.isdigit():
        building_name += "幢"
    return normalise_address(f"{compound}{building_name}").building_key


def _strip_prefixes(text: str) -> str:
    for pattern in (_PROVINCE_RE, _CITY_RE, _DISTRICT_RE, _STREET_RE, _COMMUNITY_RE):
        match = pattern.match(text)
        if match and match.end() < len(text):
            text = text[match.end():]
    return text


@lru_cache(maxsize=262144)
def _parse_address(text: str) -> Address:
    text = _strip_prefixes(text)
    road = road_number = ""
    match = _ROAD_RE.match(text)
    if match and match.end() < len(text):
        road, road_number = match.group(1), match.group(2)
        text = text[match.end():]
    tail = _UNIT_TAIL_RE.search(text)
    # Building alone only with an explicit building word (a bare 12号 is a door number).
    if tail is None or not (tail.group("r") or (tail.group("bw") in _BUILDING_WORDS and not tail.group("u"))):
        return Address(norm=(f"{road}{road_number}号" if road else "") + text, road=road, road_number=road_number)
    compound = text[:tail.start()].strip(" -,")
    building = str(chinese_number(tail.group("b")) or tail.group("b"))
    unit_text = tail.group("u")
    unit = str(chinese_number(unit_text)) if unit_text else ""
    room = (tail.group("r") or "").lstrip("0") or ("0" if tail.group("r") else "")
    norm = f"{compound}{building}幢" + (f"{unit}单元" if unit else "") + (f"{room}室" if room else "")
    return Address(norm=norm, compound=compound, building=building, unit=unit, room=room,
                   road=road, road_number=road_number)


def normalise_address(raw: object) -> Address:
    """``杭州市上城区望江街道望江路88号江城花园３栋2单元0502`` → ``江城花园3幢2单元502室``.

    Building words 栋/幢/号楼/座/#/号, 单元, 室/号, the dashed ``12-3-502`` and Chinese numerals
    (三单元) are read; province/city/district/street/community prefixes and a road with its
    number are dropped from the key (kept in ``road``/``road_number``). Text that does not end
    in building + room keeps ``norm`` only.
    """
    text = clean_text(raw).translate(_DASHES).replace(" ", "")
    text = text.replace("楼栋", "幢").replace("楼幢", "幢")
    return _parse_address(text) if text else Address(norm="")


# --- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NormalisedRecord:
    """One export row after normalisation (the contract between readers, matcher and store).

    ``fields`` holds the normalised values by registry field name (see :func:`normalise_frame`);
    ``errors`` the rejected cells as ``(column, reason code)``; ``raw_hash`` the SHA-256 of
    the raw row, for idempotent re-import.
    """

    source_code: str
    row_number: int
    sheet: str | None
    fields: dict[str, Any]
    errors: tuple[tuple[str, str], ...]
    raw_hash: str


def records_from_frame(frame: pl.DataFrame, raw: pl.DataFrame, *, source_code: str,
                       sheet: str | None = None) -> list[NormalisedRecord]:
    """:class:`NormalisedRecord` objects of a :func:`normalise_frame` result and its raw rows."""
    import hashlib
    import json

    out = []
    field_names = [c for c in frame.columns if c not in ("row_number", "errors")]
    for row, raw_row in zip(frame.iter_rows(named=True), raw.iter_rows(), strict=True):
        digest = hashlib.sha256(json.dumps(raw_row, ensure_ascii=False, default=str).encode()).hexdigest()
        out.append(NormalisedRecord(
            source_code=source_code, row_number=row["row_number"], sheet=sheet,
            fields={k: row[k] for k in field_names},
            errors=tuple((e["column"], e["code"]) for e in row["errors"] or ()), raw_hash=digest,
        ))
    return out


# --- bulk ------------------------------------------------------------------------------------


def map_distinct(series: pl.Series, fn: Callable[[Any], Any], dtype: pl.DataType) -> pl.Series:
    """``fn`` applied to each distinct value of ``series`` only, then spread back to every row."""
    distinct = series.unique(maintain_order=False)
    values = [fn(v) for v in distinct.to_list()]
    lookup = pl.DataFrame({"k": distinct, "v": pl.Series(values, dtype=dtype)})
    frame = pl.DataFrame({"k": series}).join(lookup, on="k", how="left", maintain_order="left", nulls_equal=True)
    return frame["v"].alias(series.name)


FIELD_DTYPES: Final[dict[str, pl.DataType]] = {
    "name": pl.String(), "name_pinyin": pl.String(), "name_initials": pl.String(),
    "surname_pinyin": pl.String(), "id_number": pl.String(), "id_valid": pl.Boolean(),
    "birth_date": pl.Date(), "sex": pl.String(), "phone": pl.String(),
    "address_norm": pl.String(), "building_key": pl.String(), "unit": pl.String(),
    "room": pl.String(),
}


def _name_struct(value: object) -> dict[str, Any]:
    name = normalise_name(value)
    if name is None:
        return {"v": None, "e": None if not cell_text(value) else "name_invalid", "py": None, "ini": None, "sur": None}
    keys = name_keys(name)
    return {"v": name, "e": None, "py": keys.pinyin, "ini": keys.initials, "sur": keys.surname}


def _id_struct(value: object, today: date) -> dict[str, Any]:
    result = normalise_id_number(value, today=today)
    return {"v": result.value, "e": None if result.error == "empty" else result.error, "ok": result.valid,
            "up": result.upgraded}


_ID_STRUCT: Final = pl.Struct({"v": pl.String, "e": pl.String, "ok": pl.Boolean, "up": pl.Boolean})
_HALF_FROM: Final = [chr(c) for c in range(0xFF01, 0xFF5F)] + ["\u3000"]
_HALF_TO: Final = [chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)] + [" "]
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final = "10X98765432"


def _id_check_expr(first17: pl.Expr) -> pl.Expr:
    """GB 11643 check character of 17 ASCII digits, as an expression."""
    total = pl.sum_horizontal([first17.str.slice(i, 1).cast(pl.Int32, strict=False) * w for i, w in enumerate(_ID_WEIGHTS)])
    return (total % 11).replace_strict(dict(enumerate(_ID_CHECK)), return_dtype=pl.String)


def _id_frame(raw: pl.Series, today: date) -> pl.DataFrame:
    """:func:`normalise_id_number` of every cell as columns ``v, e, ok, up``, vectorised.

    Cells that clean to plain ASCII are checked with Polars expressions (length, shape, 15→18
    upgrade, area, birth date, checksum); the rare rest (Excel's scientific notation, other
    scripts) go through :func:`normalise_id_number` itself, once per distinct value.
    """
    text = raw.cast(pl.String)
    frame = pl.DataFrame({"raw": text}).with_columns(
        t=pl.col("raw").str.replace_many(_HALF_FROM, _HALF_TO).str.replace_all(r"[\s\x1c-\x1f\-'`]", "")
        .str.to_uppercase())
    simple = pl.col("t").is_null() | (
        (pl.col("t").str.len_bytes() == pl.col("t").str.len_chars()) & ~pl.col("t").str.contains(r"E"))
    frame = frame.with_columns(simple=simple)
    t = pl.col("t")
    length = t.str.len_chars()
    shaped = t.str.contains(r"^(?:[0-9]{17}[0-9X]|[0-9]{15})$")
    upgraded = shaped & (length == 15)
    first17 = pl.concat_str([t.str.slice(0, 6), pl.lit("19"), t.str.slice(6, 9)])
    value = pl.when(upgraded).then(pl.concat_str([first17, _id_check_expr(first17)])).when(shaped).then(t)
    frame = frame.with_columns(v=value, up=upgraded)
    v = pl.col("v")
    born = v.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    born_ok = born.is_not_null() & (born >= date(1890, 1, 1)) & (born <= today)
    error = (
        pl.when(t.is_null() | (t == "")).then(None)
        .when(~length.is_in([15, 18])).then(pl.lit("id_length"))
        .when(~shaped).then(pl.lit("id_chars"))
        .when(~v.str.slice(0, 2).is_in(sorted(PROVINCE_CODES))).then(pl.lit("id_area"))
        .when(~born_ok).then(pl.lit("id_birth"))
        .when(_id_check_expr(v.str.slice(0, 17)) != v.str.slice(17, 1)).then(pl.lit("id_checksum"))
    )
    frame = frame.with_columns(e=error).with_columns(
        ok=v.is_not_null() & pl.col("e").is_null(), up=pl.col("up").fill_null(value=False))
    out = frame.select("v", "e", "ok", "up")
    rest = ~frame["simple"]
    if rest.any():
        slow = map_distinct(text.filter(rest), lambda c: _id_struct(c, today), _ID_STRUCT).struct.unnest()
        out = out.with_columns(
            pl.Series("idx", range(out.height))
        ).update(slow.with_columns(pl.Series("idx", rest.arg_true())), on="idx", include_nulls=True).drop("idx")
    return out


def _parsed_struct(fn: Callable[[object], Parsed]) -> Callable[[object], dict[str, Any]]:
    def apply(value: object) -> dict[str, Any]:
        result = fn(value)
        return {"v": result.value, "e": None if result.error == "empty" else result.error}
    return apply


def _address_struct(value: object) -> dict[str, Any]:
    address = normalise_address(value)
    # An address without building/room (a house on a road) is kept as text, not rejected.
    return {"v": address.norm or None, "e": None, "bk": address.building_key or None,
            "u": address.unit or None, "r": address.room or None}


def normalise_frame(df: pl.DataFrame, definition: SourceDefinition, *, today: date | None = None) -> pl.DataFrame:
    """Rename and normalise a raw export by its source definition, in bulk.

    Output: ``row_number`` (1-based data row, or the input's ``row_number`` column if it has
    one), one column per mapped field, the derived keys (``name_pinyin``, ``name_initials``,
    ``surname_pinyin``, ``id_valid``, ``id_upgraded``, ``address_norm``, ``building_key``,
    ``unit``, ``room``), a birth date / sex taken from a valid ID when the export has none,
    one boolean ``tag_<kind>`` column per tag rule, and ``errors``: a list of
    ``{column, code}`` for cells that were rejected (codes in :data:`REASONS`). Unmapped
    columns are dropped; person fields not in the export are null.
    """
    try:
        return _normalise_frame(df, definition, today=today or local_today())
    finally:
        _T2S_DONE.clear()


def _normalise_frame(df: pl.DataFrame, definition: SourceDefinition, *, today: date) -> pl.DataFrame:
    from linli.fusion.mapping import (  # mapping imports this module
        apply_transforms,
        apply_value_map,
        column_kind,
    )

    out: dict[str, pl.Series] = {}
    errors: list[pl.Series] = []
    row_numbers = df["row_number"] if "row_number" in df.columns else pl.Series(range(1, df.height + 1))
    out["row_number"] = row_numbers.cast(pl.Int64)
    place_columns = {c: m for c, m in definition.columns.items()
                     if m.field in _PLACE_FIELDS and c in df.columns}
    for column, cmap in definition.columns.items():
        if column not in df.columns or column in place_columns:
            continue
        raw = apply_value_map(apply_transforms(_as_text(df[column], cmap.field), cmap.transforms), cmap.values)
        kind = column_kind(cmap)
        error = _normalise_column(out, raw, cmap.field, kind, today)
        errors.append(_error_series(error, column))
    if place_columns:
        raw = _compose_address(df, definition, place_columns)
        error = _normalise_column(out, raw, "address", "address", today)
        errors.append(_error_series(error, "/".join(place_columns)))
    frame = pl.DataFrame([v.alias(k) for k, v in out.items()])
    frame = _derive_from_id(frame, today)
    for field, dtype in FIELD_DTYPES.items():
        if field not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(field))
    frame = frame.with_columns(pl.col("id_valid").fill_null(value=False))
    for rule in definition.tags:
        frame = frame.with_columns(_tag_series(df, rule).alias(f"tag_{rule.kind}"))
    if errors:
        error_frame = pl.DataFrame(errors)
        merged = error_frame.select(pl.concat_list(pl.all()).list.drop_nulls().alias("errors"))["errors"]
    else:
        merged = pl.Series("errors", [[]] * df.height, dtype=pl.List(_ERROR_DTYPE))
    return frame.with_columns(merged)


_PLACE_FIELDS: Final = frozenset({"address", "building", "unit", "room"})
_ERROR_DTYPE: Final = pl.Struct({"column": pl.String, "code": pl.String})
_DATE_FIELDS: Final = frozenset({"birth_date", "deceased_on", "valid_from", "valid_to"})


def _as_text(series: pl.Series, field: str) -> pl.Series:
    if series.dtype == pl.String or (field in _DATE_FIELDS and series.dtype in (pl.Date, pl.Datetime)):
        return series
    if series.dtype.is_float():
        # 19500305.0 / 18327.0 from spreadsheets: keep integers integral.
        return pl.Series(series.name, [cell_text(v) if v is not None else None for v in series.to_list()],
                         dtype=pl.String)
    return series.cast(pl.String)


def _error_series(error: pl.Series, column: str) -> pl.Series:
    frame = pl.DataFrame({"e": error})
    return frame.select(
        pl.when(pl.col("e").is_not_null())
        .then(pl.struct(pl.lit(column).alias("column"), pl.col("e").alias("code")))
        .alias(column)
    )[column]


def _compose_address(df: pl.DataFrame, definition: SourceDefinition, columns: dict[str, Any]) -> pl.Series:
    """Separate address / building / unit / room columns → one address text to parse."""
    from linli.fusion.mapping import apply_transforms

    by_field = {m.field: apply_transforms(_as_text(df[c], m.field), m.transforms).fill_null("")
                for c, m in columns.items()}
    empty = pl.Series([""] * df.height, dtype=pl.String)
    frame = pl.DataFrame({f: by_field.get(f, empty) for f in ("address", "building", "unit", "room")})
    return frame.select(
        pl.when(pl.col("building") != "")
        .then(pl.concat_str(
            pl.col("address"),
            pl.col("building").str.replace(r"^(\d+)$", "${1}幢"),
            pl.when(pl.col("unit") != "").then(pl.col("unit").str.replace(r"^(\d+)$", "${1}单元")).otherwise(pl.lit("")),
            pl.col("room"),
        ))
        .otherwise(pl.col("address"))
        .alias("address")
    )["address"]


def _normalise_column(out: dict[str, pl.Series], raw: pl.Series, field: str, kind: str, today: date) -> pl.Series:
    """Normalise one column into ``out``; returns its per-row error codes."""
    if kind in ("name", "address") and raw.dtype == pl.String:
        # Chinese free text: one OpenCC call for the column's distinct texts.
        _prime_simplified(raw.drop_nulls().unique().to_list())
    if kind == "name":
        parts = map_distinct(raw, _name_struct, pl.Struct(
            {"v": pl.String, "e": pl.String, "py": pl.String, "ini": pl.String, "sur": pl.String})).struct.unnest()
        out[field] = parts["v"]
        if field == "name":
            out["name_pinyin"], out["name_initials"], out["surname_pinyin"] = parts["py"], parts["ini"], parts["sur"]
    elif kind == "id_number":
        parts = _id_frame(raw, today)
        out[field] = parts["v"]
        if field == "id_number":
            out["id_valid"], out["id_upgraded"] = parts["ok"], parts["up"]
    elif kind == "address":
        parts = map_distinct(raw, _address_struct, pl.Struct(
            {"v": pl.String, "e": pl.String, "bk": pl.String, "u": pl.String, "r": pl.String})).struct.unnest()
        out["address_norm"], out["building_key"], out["unit"], out["room"] = parts["v"], parts["bk"], parts["u"], parts["r"]
    else:
        fn, dtype = _SCALAR_KINDS[kind]
        if kind == "date":
            def fn(v: object) -> Parsed:
                return normalise_date(v, today=today)
        parts = map_distinct(raw, _parsed_struct(fn), pl.Struct({"v": dtype, "e": pl.String})).struct.unnest()
        out[field] = parts["v"]
    return parts["e"]


def _tag_series(df: pl.DataFrame, rule: Any) -> pl.Series:
    """True where a tag rule's column says so: non-empty, or one of its listed values."""
    if rule.column not in df.columns:
        return pl.Series([False] * df.height, dtype=pl.Boolean)
    values = [clean_text(v) for v in df[rule.column].to_list()]
    wanted = set(rule.values) if rule.values else None
    return pl.Series([bool(v) and (wanted is None or v in wanted) for v in values], dtype=pl.Boolean)


def _derive_from_id(frame: pl.DataFrame, today: date) -> pl.DataFrame:
    """Fill a missing birth date / sex from a valid ID (some exports carry only the ID)."""
    if "id_number" not in frame.columns:
        return frame
    valid = pl.col("id_valid").fill_null(value=False)
    from_id = pl.col("id_number").str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    sex_digit = pl.col("id_number").str.slice(16, 1).cast(pl.Int32, strict=False)
    derived = [
        pl.when(valid).then(from_id).otherwise(None).alias("_birth_id"),
        pl.when(valid).then(pl.when(sex_digit % 2 == 1).then(pl.lit("M")).otherwise(pl.lit("F"))).alias("_sex_id"),
    ]
    frame = frame.with_columns(derived)
    birth = pl.coalesce("birth_date", "_birth_id") if "birth_date" in frame.columns else pl.col("_birth_id")
    sex = pl.coalesce("sex", "_sex_id") if "sex" in frame.columns else pl.col("_sex_id")
    return frame.with_columns(birth.alias("birth_date"), sex.alias("sex")).drop("_birth_id", "_sex_id")


def field_kind(field: str) -> str:
    """Which normaliser a registry field uses by default."""
    return _FIELD_KINDS.get(field, "text")


_FIELD_KINDS: Final = {
    "name": "name", "id_number": "id_number", "address": "address", "birth_date": "date",
    "deceased_on": "date", "valid_from": "date", "valid_to": "date", "sex": "sex", "phone": "phone",
    "is_deceased": "yes_no", "disability_grade": "grade", "unit": "int_text", "room": "room",
    "building": "text", "hukou": "hukou", "ethnicity": "ethnicity",
}


def _text(value: object) -> Parsed:
    text = clean_text(value)
    return Parsed(text or None, None if text else "empty")


def _int_text(value: object) -> Parsed:
    result = normalise_int(value)
    return Parsed(str(result.value), None) if result.value is not None else Parsed(None, result.error)


def _room(value: object) -> Parsed:
    text = re.sub(r"(室|号|房)$", "", clean_text(value).replace(" ", ""))
    if not text:
        return Parsed(None, "empty")
    return Parsed(text.lstrip("0") or "0") if text.isdigit() else Parsed(text)


_HUKOU: Final = {
    "户籍": "local", "本地": "local", "户籍人口": "local", "常住": "local", "LOCAL": "local",
    "流动": "migrant", "流动人口": "migrant", "外来": "migrant", "外地": "migrant", "MIGRANT": "migrant",
    "境外": "foreign", "境外人员": "foreign", "外籍": "foreign", "FOREIGN": "foreign",
}


def normalise_hukou(raw: object) -> Parsed:
    """``户籍``/``流动人口``/``境外`` → ``local``/``migrant``/``foreign``."""
    text = clean_text(raw).upper().replace(" ", "")
    if not text:
        return Parsed(None, "empty")
    value = _HUKOU.get(text)
    return Parsed(value) if value else Parsed(None, "hukou_invalid")


def normalise_ethnicity(raw: object) -> Parsed:
    """``汉`` → ``汉族``; ``维吾尔族`` stays."""
    text = clean_text(raw).replace(" ", "")
    if not text:
        return Parsed(None, "empty")
    return Parsed(text if text.endswith("族") or len(text) > 4 else text + "族")


_SCALAR_KINDS: Final[dict[str, tuple[Callable[[object], Parsed], pl.DataType]]] = {
    "date": (normalise_date, pl.Date()),
    "sex": (normalise_sex, pl.String()),
    "phone": (normalise_phone, pl.String()),
    "yes_no": (normalise_yes_no, pl.Boolean()),
    "grade": (normalise_grade, pl.Int64()),
    "int_text": (_int_text, pl.String()),
    "room": (_room, pl.String()),
    "text": (_text, pl.String()),
    "hukou": (normalise_hukou, pl.String()),
    "ethnicity": (normalise_ethnicity, pl.String()),
}

