"""Pure validators for Chinese identifiers: resident ID (GB 11643), credit code (GB 32100), phone.

No ORM here. Every refusal is a :class:`ValidationFailed` naming the field and, in Chinese,
the reason, so the UI and the API can show it as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.errors import ValidationFailed
from linli.registry.choices import Sex

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
# First two digits of GB/T 2260 codes: provinces, plus 83 (Taiwan on the ID card) and 91 (abroad).
PROVINCE_CODES: frozenset[str] = frozenset(
    [str(n) for n in (*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47),
                      *range(50, 55), *range(61, 66))]
    + ["71", "81", "82", "83", "91"],
)
EARLIEST_BIRTH = date(1890, 1, 1)

_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_MOBILE_RE = re.compile(r"1[3-9]\d{9}")
# 0 + 2–3 digit area code + 7–8 digit number (010 5555 5555, 0571 8765 4321, 0898 123 4567).
_LANDLINE_RE = re.compile(r"0\d{2,3}\d{7,8}")

# Full-width ASCII (U+FF01–U+FF5E) maps to U+0021–U+007E; the ideographic space to a space.
_FULL_TO_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def to_half_width(raw: str) -> str:
    """``１２３Ｘ`` → ``123X``; other characters are left alone."""
    return raw.translate(_FULL_TO_HALF)


@dataclass(frozen=True)
class IdNumber:
    """A valid resident ID number, normalised to 18 characters, with what it encodes."""

    value: str
    birth_date: date
    sex: Sex
    area_code: str
    upgraded_from_15: bool


def id_number_check_char(first17: str) -> str:
    """The GB 11643 check character of 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need exactly 17 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def upgrade_id_number_15(raw: str) -> str:
    """A legacy 15-digit number → 18 characters: insert century ``19`` and append the check."""
    if len(raw) != 15 or not raw.isascii() or not raw.isdigit():
        raise ValueError("need exactly 15 ASCII digits")
    first17 = raw[:6] + "19" + raw[6:]
    return first17 + id_number_check_char(first17)


def _birth_date(digits: str, *, field: str, today: date) -> date:
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise ValidationFailed(field, _("身份证号出生日期无效")) from None
    if born > today or born < EARLIEST_BIRTH:
        raise ValidationFailed(field, _("身份证号出生日期无效"))
    return born


def parse_id_number(raw: str, *, field: str = "id_number", today: date | None = None) -> IdNumber:
    """Validate and normalise a resident ID number (GB 11643-1999), 18 or legacy 15 digits.

    Area codes are checked only for a valid province prefix: codes are retired over the
    years, and people keep the numbers they were issued.
    """
    today = today or timezone.localdate()
    text = "".join(to_half_width(raw).split()).upper()
    if len(text) not in (15, 18):
        raise ValidationFailed(field, _("身份证号长度应为18位(或旧版15位)"))
    body = text if len(text) == 15 else text[:17]
    if not body.isascii() or not body.isdigit() or (len(text) == 18 and not (
        text[17].isdigit() or text[17] == "X"
    )):
        raise ValidationFailed(field, _("身份证号含有无效字符"))
    if text[:2] not in PROVINCE_CODES:
        raise ValidationFailed(field, _("身份证号地区码无效"))
    upgraded = len(text) == 15
    value = upgrade_id_number_15(text) if upgraded else text
    born = _birth_date(value[6:14], field=field, today=today)
    if not upgraded and id_number_check_char(value[:17]) != value[17]:
        raise ValidationFailed(field, _("身份证号校验码错误"))
    sex = Sex.MALE if int(value[16]) % 2 == 1 else Sex.FEMALE
    return IdNumber(value=value, birth_date=born, sex=sex, area_code=value[:6],
                    upgraded_from_15=upgraded)


def check_birth_and_sex(id_number: IdNumber, *, birth_date: date | None, sex: str | None) -> None:
    """Refuse a birth date or sex given alongside the ID number that contradicts it."""
    if birth_date is not None and birth_date != id_number.birth_date:
        raise ValidationFailed("birth_date", _("出生日期与身份证号不一致"))
    if sex and sex != id_number.sex:
        raise ValidationFailed("sex", _("性别与身份证号不一致"))


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters."""
    total = sum(_CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_ALPHABET[(31 - total % 31) % 31]


def parse_credit_code(raw: str, *, field: str = "credit_code") -> str:
    """Validate and normalise a unified social credit code (GB 32100-2015)."""
    text = "".join(to_half_width(raw).split()).upper()
    if len(text) != 18:
        raise ValidationFailed(field, _("统一社会信用代码长度应为18位"))
    if any(c not in _CREDIT_ALPHABET for c in text):
        raise ValidationFailed(field, _("统一社会信用代码含有无效字符"))
    if credit_code_check_char(text[:17]) != text[17]:
        raise ValidationFailed(field, _("统一社会信用代码校验码错误"))
    return text


def parse_phone(raw: str, *, field: str = "phone") -> str:
    """Normalise a mobile (11 digits) or a landline with area code (digits only).

    ``+86 138-1234-5678`` → ``13812345678``; ``0571-8765 4321`` → ``057187654321``.
    """
    text = to_half_width(raw).strip()
    text = re.sub(r"[\s\-()（）.]", "", text)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    if not text.isascii() or not text.isdigit():
        raise ValidationFailed(field, _("电话号码含有无效字符"))
    if _MOBILE_RE.fullmatch(text) or _LANDLINE_RE.fullmatch(text):
        return text
    raise ValidationFailed(field, _("电话号码格式无效(手机11位,座机需带区号)"))
