"""The error model of the departmental demo exports: rates per department and the corruptions.

Pure functions and tables, no ORM and no file I/O. :mod:`linli.demo.exports` draws which
rows get which error (seeded NumPy streams) and calls the corruptions here on those rows
only. The rates and where they come from are documented in ``docs/fusion-error-model.md``;
keep the two in step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

import opencc

# Departments in a fixed order: their index seeds each department's random stream.
MINZHENG: Final = "minzheng"
CANLIAN: Final = "canlian"
ZONGZHI: Final = "zongzhi"
CHENGGUAN: Final = "chengguan"
JISHENG: Final = "jisheng"
LIUDONG: Final = "liudong"
DEPARTMENT_CODES: Final = (MINZHENG, CANLIAN, ZONGZHI, CHENGGUAN, JISHENG, LIUDONG)


@dataclass(frozen=True)
class Rates:
    """Per-row probabilities of each error in one department's export.

    ``id_legacy15`` applies to people born before 1980 only; ``*_styles`` are the weights of
    the formats the department mixes (the first one is its house style).
    """

    id_missing: float
    id_typo: float
    id_transposed: float
    id_legacy15: float
    id_fullwidth: float
    name_variant: float
    name_traditional: float
    name_space: float
    birth_missing: float
    sex_missing: float
    phone_missing: float
    phone_other: float
    address_missing: float
    address_stale: float
    duplicate: float
    id_scientific: float = 0.0
    id_excel_number: float = 0.0
    date_styles: dict[str, float] = field(default_factory=dict)
    address_styles: dict[str, float] = field(default_factory=dict)
    address_prefixes: dict[str, float] = field(default_factory=dict)
    phone_styles: dict[str, float] = field(default_factory=dict)
    sex_styles: dict[str, float] = field(default_factory=lambda: {"text": 1.0})


_PLAIN_PHONES: Final = {"plain": 0.9, "dash": 0.04, "space": 0.04, "plus86": 0.02}

RATES: Final[dict[str, Rates]] = {
    # Hand-kept Excel lists of the community 民政 assistants, exported from WPS as GBK.
    MINZHENG: Rates(
        id_missing=0.01, id_typo=0.012, id_transposed=0.006, id_legacy15=0.04, id_fullwidth=0.01,
        name_variant=0.015, name_traditional=0.01, name_space=0.005, birth_missing=0.01,
        sex_missing=0.005, phone_missing=0.04, phone_other=0.03, address_missing=0.01,
        address_stale=0.02, duplicate=0.006,
        date_styles={"iso": 0.7, "slash": 0.1, "compact": 0.1, "chinese": 0.1},
        address_styles={"zhuang": 0.55, "dash": 0.2, "haolou": 0.15, "full": 0.1},
        address_prefixes={"": 0.5, "杭州市上城区": 0.4, "浙江省杭州市上城区": 0.1},
        phone_styles=_PLAIN_PHONES,
    ),
    # The national 残联 system: cleaner, but old cards carry 15-digit numbers.
    CANLIAN: Rates(
        id_missing=0.005, id_typo=0.008, id_transposed=0.004, id_legacy15=0.03, id_fullwidth=0.0,
        name_variant=0.01, name_traditional=0.015, name_space=0.003, birth_missing=0.005,
        sex_missing=0.002, phone_missing=0.08, phone_other=0.02, address_missing=0.01,
        address_stale=0.01, duplicate=0.004,
        date_styles={"excel_date": 0.8, "excel_serial": 0.08, "dash_nopad": 0.06, "compact": 0.06},
        address_styles={"full": 0.6, "zhuang": 0.3, "dong": 0.1},
        address_prefixes={"杭州市上城区": 0.7, "浙江省杭州市上城区": 0.2, "": 0.1},
        phone_styles=_PLAIN_PHONES,
    ),
    # The 综治 grid platform: system export, compact dates, codes for sex in part.
    ZONGZHI: Rates(
        id_missing=0.03, id_typo=0.01, id_transposed=0.005, id_legacy15=0.0, id_fullwidth=0.003,
        name_variant=0.012, name_traditional=0.005, name_space=0.005, birth_missing=0.02,
        sex_missing=0.01, phone_missing=0.06, phone_other=0.02, address_missing=0.005,
        address_stale=0.015, duplicate=0.005,
        date_styles={"compact": 0.85, "iso": 0.15},
        address_styles={"dash": 0.5, "zhuang": 0.3, "haolou": 0.2},
        address_prefixes={"": 0.6, "杭州市上城区": 0.3, "上城区": 0.1},
        phone_styles=_PLAIN_PHONES,
        sex_styles={"text": 0.8, "code": 0.2},
    ),
    # 城管 keeps vendor lists from paper forms: many missing IDs, typed by hand.
    CHENGGUAN: Rates(
        id_missing=0.12, id_typo=0.02, id_transposed=0.01, id_legacy15=0.0, id_fullwidth=0.02,
        name_variant=0.025, name_traditional=0.005, name_space=0.01, birth_missing=0.0,
        sex_missing=0.0, phone_missing=0.03, phone_other=0.04, address_missing=0.03,
        address_stale=0.03, duplicate=0.008, id_scientific=0.005,
        address_styles={"haolou": 0.4, "dash": 0.4, "zhuang": 0.2},
        address_prefixes={"": 0.8, "杭州市上城区": 0.2},
        phone_styles={"plain": 0.7, "dash": 0.15, "space": 0.15},
    ),
    # 卫健/计生 全员人口: old records, legacy numbers, Excel date cells.
    JISHENG: Rates(
        id_missing=0.02, id_typo=0.01, id_transposed=0.005, id_legacy15=0.03, id_fullwidth=0.01,
        name_variant=0.012, name_traditional=0.01, name_space=0.004, birth_missing=0.01,
        sex_missing=0.005, phone_missing=0.1, phone_other=0.03, address_missing=0.01,
        address_stale=0.025, duplicate=0.005, id_excel_number=0.003,
        date_styles={"excel_date": 0.75, "iso": 0.1, "excel_serial": 0.05, "chinese": 0.05, "compact": 0.05},
        address_styles={"zhuang": 0.5, "full": 0.3, "dash": 0.2},
        address_prefixes={"杭州市上城区": 0.6, "": 0.3, "浙江省杭州市上城区": 0.1},
        phone_styles=_PLAIN_PHONES,
    ),
    # 流动人口 registration (the police 居住证 system): clean IDs, Chinese dates in part.
    LIUDONG: Rates(
        id_missing=0.01, id_typo=0.008, id_transposed=0.004, id_legacy15=0.0, id_fullwidth=0.005,
        name_variant=0.015, name_traditional=0.002, name_space=0.005, birth_missing=0.005,
        sex_missing=0.005, phone_missing=0.03, phone_other=0.05, address_missing=0.005,
        address_stale=0.02, duplicate=0.005,
        date_styles={"iso": 0.6, "chinese": 0.2, "dash_nopad": 0.1, "slash": 0.1},
        address_styles={"haolou": 0.4, "zhuang": 0.3, "dash": 0.3},
        address_prefixes={"杭州市上城区": 0.5, "": 0.4, "浙江省杭州市上城区": 0.1},
        phone_styles=_PLAIN_PHONES,
    ),
}

# Characters that sound the same (same toneless pinyin) and get typed for each other.
HOMOPHONES: Final[dict[str, str]] = {
    "芳": "方", "伟": "纬玮炜", "丽": "莉俐", "莉": "丽", "娟": "涓鹃", "红": "虹宏", "华": "桦骅",
    "明": "鸣铭", "军": "君钧", "英": "瑛", "珍": "贞真", "兰": "岚蓝", "萍": "平苹", "玲": "铃伶",
    "琳": "林霖", "燕": "艳雁", "霞": "夏", "梅": "玫媚", "峰": "锋丰", "涛": "滔韬", "杰": "洁婕",
    "斌": "彬滨", "浩": "皓昊", "宇": "雨羽语", "欣": "馨新", "怡": "仪宜", "婷": "亭庭",
    "佳": "嘉家", "轩": "萱宣", "涵": "含菡", "子": "梓紫", "晨": "辰臣", "鑫": "新欣", "刚": "钢纲",
    "国": "帼", "建": "剑健", "平": "萍屏", "东": "冬", "文": "雯闻", "静": "婧靖", "慧": "惠蕙",
    "晓": "小筱", "琪": "琦淇", "睿": "锐瑞", "思": "丝斯", "雨": "宇语", "诗": "施", "梦": "孟",
    "凤": "风", "秀": "绣", "桂": "贵", "德": "得", "荣": "蓉容", "金": "今", "龙": "隆", "志": "智",
    "彩": "采", "月": "悦越", "美": "梅", "雯": "文", "敏": "珉", "婧": "静", "悦": "月", "博": "波",
    "豪": "毫", "俊": "骏", "杨": "阳", "王": "汪", "张": "章", "徐": "许", "余": "于俞", "付": "傅",
    "肖": "萧", "吴": "伍", "章": "张", "许": "徐",
}
_SURNAME_SWAPS: Final = frozenset("杨王张徐余付肖吴章许")

# What the corruption of an ID number did (``truth.id_status``).
ID_OK: Final = "ok"
ID_NONE: Final = "none"  # the person has no resident ID (foreigners): not an error
ID_MISSING: Final = "missing"
ID_TYPO: Final = "typo"
ID_TRANSPOSED: Final = "transposed"
ID_LEGACY15: Final = "legacy15"
ID_FULLWIDTH: Final = "fullwidth"
ID_SCIENTIFIC: Final = "scientific"
ID_EXCEL_NUMBER: Final = "excel_number"
# Statuses whose exported value no longer yields the true 18-digit number.
ID_WRONG: Final = frozenset({ID_MISSING, ID_TYPO, ID_TRANSPOSED, ID_SCIENTIFIC, ID_EXCEL_NUMBER})


def typo_digit(number: str, rng: random.Random) -> str:
    """One digit of the 17-digit body replaced by another (a key next to it, mostly)."""
    position = rng.randrange(17)
    old = number[position]
    neighbours = {"0": "98", "1": "27", "2": "13", "3": "24", "4": "35", "5": "46", "6": "57",
                  "7": "68", "8": "79", "9": "80"}
    new = rng.choice(neighbours[old]) if rng.random() < 0.7 else rng.choice("0123456789".replace(old, ""))
    return number[:position] + new + number[position + 1:]


def transpose_digits(number: str, rng: random.Random) -> str:
    """Two adjacent, different digits of the body swapped; the number itself if all are equal."""
    positions = [i for i in range(16) if number[i] != number[i + 1]]
    if not positions:
        return number
    i = rng.choice(positions)
    return number[:i] + number[i + 1] + number[i] + number[i + 2:]


def legacy_15(number: str) -> str:
    """The 15-digit card of the same person: no century, no check character."""
    return number[:6] + number[8:17]


def scientific(number: str) -> str:
    """What Excel shows after a CSV round trip turned the number into a float: ``3.30102E+17``."""
    return f"{float(number[:17] + '0'):.5E}"


def excel_number(number: str) -> str:
    """An ID stored as a number cell: 15 significant digits, the rest zeros, X lost."""
    return number[:15] + "000"


_HALF_TO_FULL: Final = {cp: cp + 0xFEE0 for cp in range(0x21, 0x7F)}


def full_width(text: str) -> str:
    """``1950`` → ``１９５０``: what a Chinese input method in full-width mode types."""
    return text.translate(_HALF_TO_FULL)


def name_variant(name: str, rng: random.Random) -> str | None:
    """One character replaced by a homophone (王芳 → 王方, 张伟 → 张纬); None when none fits."""
    given = [i for i, ch in enumerate(name) if i > 0 and ch in HOMOPHONES]
    surname = [0] if name[:1] in _SURNAME_SWAPS else []
    choices = given if given and (not surname or rng.random() < 0.75) else surname
    if not choices:
        return None
    i = rng.choice(choices)
    return name[:i] + rng.choice(HOMOPHONES[name[i]]) + name[i + 1:]


@lru_cache(maxsize=1)
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def traditional(name: str) -> str | None:
    """The name in traditional characters (刘 → 劉); None when it has none to convert."""
    converted: str = _s2t().convert(name)
    return converted if converted != name else None


def spaced(name: str, rng: random.Random) -> str:
    """A space typed into or after the name (full-width in part, as IMEs do)."""
    space = "\u3000" if rng.random() < 0.3 else " "
    if len(name) >= 2 and rng.random() < 0.6:
        return name[0] + space + name[1:]
    return name + space


def other_mobile(phone: str, rng: random.Random) -> str:
    """Another number of the family (a child's phone, an old number): same prefix kind."""
    while True:
        other = phone[:3] + f"{rng.randrange(100_000_000):08d}"
        if other != phone:
            return other


def format_phone(phone: str, style: str) -> str:
    if style == "dash":
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    if style == "space":
        return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    if style == "plus86":
        return f"+86 {phone}"
    return phone
