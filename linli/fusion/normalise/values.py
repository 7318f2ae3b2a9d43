"""One pure function per kind of cell: the reference normalisers of departmental exports.

Every function takes the raw cell (``str``, number, ``date`` or ``None``) and returns the
normalised value, or ``None`` together with a reason code (see :data:`REASONS`) when the
cell cannot be read. The bulk path (:mod:`.frame`, :mod:`.columns`) must give the same
results; it calls these functions for every value its vectorised rules do not cover.

No ORM and no settings are touched here: reason codes become Chinese messages only through
:func:`reason_message`, which callers use when they show or store them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo

import opencc
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from pypinyin import Style, lazy_pinyin
from pypinyin.constants import PHRASES_DICT

from linli.registry.text import pinyin_keys
from linli.registry.validators import PROVINCE_CODES, id_number_check_char, upgrade_id_number_15

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


def simplified(raw: str) -> str:
    """Traditional → simplified Chinese (OpenCC ``t2s``): ``劉德華`` → ``刘德华``."""
    if not raw or raw.isascii():
        return raw
    return str(_t2s.convert(raw))


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
    full, initials = fast_pinyin_keys(name)
    surname = pinyin_keys(name[0])[0] if name else ""
    return NameKeys(full, initials, surname)


_HAN_RUN_RE: Final = re.compile(r"[\u4e00-\u9fff]+")
_PLAIN_NAME_RE: Final = re.compile(r"[\u4e00-\u9fff·]+")


@lru_cache(maxsize=65536)
def char_syllable(char: str) -> str:
    """One character's toneless pinyin as :func:`linli.registry.text.pinyin_keys` reads it
    (lower case, letters and digits only)."""
    syllable = lazy_pinyin(char, style=Style.NORMAL, errors="default")[0].lower()
    return "".join(c for c in syllable if c.isalnum())


def _has_phrase(run: str) -> bool:
    # pypinyin reads a run character by character unless a dictionary phrase occurs in it.
    n = len(run)
    return any(run[i:j] in PHRASES_DICT for i in range(n - 1) for j in range(i + 2, n + 1))


def fast_pinyin_keys(name: str) -> tuple[str, str]:
    """:func:`linli.registry.text.pinyin_keys` without pypinyin's segmenter for the usual
    name (Chinese characters and ·, no dictionary phrase inside): per-character syllables,
    which is what the segmenter yields for such a name. Anything else goes to pypinyin."""
    if not _PLAIN_NAME_RE.fullmatch(name) or any(_has_phrase(run) for run in _HAN_RUN_RE.findall(name)):
        return pinyin_keys(name)
    syllables = [s for s in (char_syllable(c) for c in name if c != "·") if s]
    return "".join(syllables), "".join(s[0] for s in syllables)


# --- ID numbers ------------------------------------------------------------------------------

_ID_SHAPE_RE: Final = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}")  # ASCII: other scripts' digits are id_chars
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


# Between two numbers in one cell ("13812345678/0571-87654321", "…，…", "…或…").
PHONE_SEPARATORS: Final = "/,，;；、|或及"
_PHONE_SPLIT_RE: Final = re.compile("[" + re.escape(PHONE_SEPARATORS) + "]")


def normalise_phone(raw: object) -> Parsed:
    """``+86 138-1234-5678`` / ``0086…`` → ``13812345678``; ``0571-8765 4321`` → ``057187654321``.

    An 8-digit local number without its area code cannot be told apart across cities and is
    refused (``phone_format``). A cell holding several numbers (``13812345678/057187654321``)
    gives its first mobile, else its first landline: departments' lists put a second contact
    in the same cell, and dropping the whole cell lost the one number that links.
    """
    text = half_width(cell_text(raw))
    if _PHONE_SPLIT_RE.search(text):
        parts = [_one_phone(part) for part in _PHONE_SPLIT_RE.split(text) if part.strip()]
        good = [part.value for part in parts if part.value]
        mobiles = [value for value in good if value.startswith("1")]
        if mobiles or good:
            return Parsed((mobiles or good)[0])
        return parts[0] if parts else Parsed(None, "empty")
    return _one_phone(text)


def _one_phone(text: str) -> Parsed:
    text = re.sub(r"[\s\-()（）.]", "", text.translate(_DASHES))
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




_YEAR_MONTH_RE: Final = re.compile(r"^(\d{4})\s*(?:[.\-/年]\s*(\d{1,2})\s*月?)?\s*(?:年)?$")


def normalise_year_month(raw: object, *, today: date | None = None) -> Parsed:
    """A birth year and month (出生年月) as ``YYYYMM``: ``1949.12``, ``1949年12月``, ``194912``,
    ``1949-12``, ``1949/12``, a full date (its year and month), a date cell. A bare year
    (``1949``, ``1949年``) and ``1949.1`` — a number cell that may have been 1949.10 — keep
    the year only (``YYYY``). Empty → ``empty``; else ``date_format`` / ``date_range``."""
    today = today or local_today()
    if isinstance(raw, datetime | date):
        year, month = raw.year, raw.month
        text = ""
    else:
        text = half_width(clean_text(raw)).replace(" ", "")
        if not text:
            return Parsed(None, "empty")
        match = _YEAR_MONTH_RE.match(text)
        if match is None and re.fullmatch(r"\d{6}", text):
            match = re.match(r"^(\d{4})(\d{2})$", text)
        if match is None:
            full = normalise_date(text, today=today)
            if full.value is None:
                return Parsed(None, full.error or "date_format")
            year, month = full.value.year, full.value.month
        else:
            year = int(match.group(1))
            month_text = match.group(2)
            # A float cell 1949.1 may have been typed 1949.10: its month is not known.
            ambiguous = month_text == "1" and re.fullmatch(r"\d{4}\.1", text) is not None
            month = int(month_text) if month_text and not ambiguous else 0
    if not 1890 <= year <= today.year or month > 12 or (year, month) > (today.year, today.month):
        return Parsed(None, "date_range")
    return Parsed(f"{year:04d}{month:02d}" if month else f"{year:04d}", None)


def field_kind(field: str) -> str:
    """Which normaliser a registry field uses by default."""
    return _FIELD_KINDS.get(field, "text")


_FIELD_KINDS: Final = {
    "name": "name", "id_number": "id_number", "address": "address", "birth_date": "date",
    "deceased_on": "date", "valid_from": "date", "valid_to": "date", "sex": "sex", "phone": "phone",
    "is_deceased": "yes_no", "disability_grade": "grade", "unit": "int_text", "room": "room",
    "building": "text", "hukou": "hukou", "ethnicity": "ethnicity", "birth_year_month": "year_month",
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

