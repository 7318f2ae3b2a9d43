"""Search keys for Chinese names: full pinyin and pinyin initials, lower-case ASCII."""

from __future__ import annotations

import re
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

# Field names bound into PII ciphertexts and blind indexes (see linli.core.pii).
PII_ID_NUMBER = "person.id_number"
PII_PHONE = "person.phone"
PII_ORG_PHONE = "organisation.contact_phone"


@lru_cache(maxsize=65536)
def pinyin_keys(name: str) -> tuple[str, str]:
    """``王小明`` → ``("wangxiaoming", "wxm")``. Non-Chinese characters pass through lower-cased."""
    syllables = [s.lower() for s in lazy_pinyin(name, style=Style.NORMAL, errors="default")]
    syllables = [s for s in ("".join(ch for ch in s if ch.isalnum()) for s in syllables) if s]
    return "".join(syllables), "".join(s[0] for s in syllables)


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key with runs of digits compared as numbers: ``望江路2号1幢`` < ``望江路2号2幢`` <
    ``望江路2号10幢`` (as text, ``10幢`` comes before ``2幢``)."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(text) if part)
