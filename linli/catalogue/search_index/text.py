"""Text of a query: normalisation (half width, simplified script by OpenCC, digits for
Chinese numerals), age classes, jieba segmentation with the service terms, and character
n-grams. Pure; the jieba tokenizer is built once per process."""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import unicodedata
import warnings
from pathlib import Path

import opencc

from linli.catalogue.data.synonyms import SERVICE_TERMS, STOPWORDS

with warnings.catch_warnings():
    # jieba's sources carry invalid escape sequences that warn when they are compiled.
    warnings.simplefilter("ignore", DeprecationWarning)
    import jieba

# Traditional → simplified for residents typing on Hong Kong or Taiwan keyboards. OpenCC's
# phrase tables also turn variants such as 身分証 into 身分证 (the homophone 身份证 is the
# typo matcher's job).
_t2s = opencc.OpenCC("t2s")
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
# Chinese numerals with a unit (八十, 六十五, 一百零二) or followed by 岁 (三岁) become digits.
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百]*[十百][零〇一二两三四五六七八九十]*|"
                        r"[一二两三四五六七八九](?=周?岁)")
CJK = re.compile(r"[\u4e00-\u9fff]")
_NOT_WORD = re.compile(r"[^0-9a-z\u4e00-\u9fff]+")
_AGE = re.compile(r"(?:(?:年满|满|超过|过了|过|到了|快|今年|已经|都)(\d{1,3}))|(?:(\d{1,3})(?:周岁|岁|多岁|了|多了|出头|好几))")


def chinese_number(text: str) -> int:
    """``"八十"`` → 80, ``"六十五"`` → 65, ``"一百零二"`` → 102, ``"十八"`` → 18."""
    total, current = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = current * 10 + _CN_DIGITS[ch] if current and ch in "零〇" else _CN_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
    return total + current


def normalise(text: str) -> str:
    """Half-width, lower case, simplified script, digits for numerals, no punctuation."""
    text = _t2s.convert(unicodedata.normalize("NFKC", text).lower())
    text = _CN_NUMBER.sub(lambda m: str(chinese_number(m.group(0))), text)
    return _NOT_WORD.sub(" ", text).strip()


def age_terms(text: str) -> list[str]:
    """Age classes mentioned in a normalised query: 80 → 高龄, 100 → 百岁, 60 → 老年人."""
    terms: list[str] = []
    for match in _AGE.finditer(text):
        years = int(match.group(1) or match.group(2))
        if years >= 100:
            # 百岁老人 have their own item; 高龄 would pull the 80+ allowance first.
            terms += ["百岁", "百岁老人", "老年人"]
        elif years >= 80:
            terms += ["高龄", "老年人"]
        elif years >= 60:
            terms += ["老年人"]
    return terms


_tokenizer_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def _jieba_cache_dir() -> Path:
    """jieba caches its prefix dictionary; keep it in a folder we can always write."""
    path = Path(tempfile.gettempdir()) / "linli-jieba"
    path.mkdir(parents=True, exist_ok=True)
    return path


def tokenizer() -> jieba.Tokenizer:
    """The process-wide jieba tokenizer with the service terms, initialised once."""
    global _tokenizer
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                logging.getLogger("jieba").setLevel(logging.WARNING)
                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.tmp_dir = str(_jieba_cache_dir())
                tk.initialize()
                for term in SERVICE_TERMS:
                    tk.add_word(term, freq=200_000)
                _tokenizer = tk
    return _tokenizer


def tokens(text: str) -> list[str]:
    """Search tokens of already normalised text: jieba words and sub-words, minus stopwords."""
    tk = tokenizer()
    return [
        word for chunk in text.split() for word in tk.cut_for_search(chunk, HMM=True)
        if word.strip() and word not in STOPWORDS
    ]


def char_grams(text: str) -> list[str]:
    """Characters and character pairs of normalised text, within each run of Chinese.

    A second view of the text that does not depend on where jieba puts word boundaries:
    "油烟熏到" is cut 油 / 烟熏, but its pair 油烟 still meets the item's 油烟.
    """
    grams: list[str] = []
    for run in re.findall(r"[\u4e00-\u9fff]+", text):
        grams += [ch for ch in run if ch not in STOPWORDS]
        grams += [run[i:i + 2] for i in range(len(run) - 1)]
    return grams
