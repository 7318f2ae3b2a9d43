"""One-sentence search (一句话办事) over service items: pure, offline, no ORM.

A resident types "我妈今年八十了能领什么钱"; the query is normalised (full-width → half-width,
a few traditional characters → simplified, Chinese numerals → digits), everyday words are
mapped to official terms (leftmost-longest match over a synonym table), ages become age
classes (80 → 高龄), the text is segmented by jieba with a dictionary of service terms,
and items are ranked by BM25 (bm25s) over their name (weighted ×3), keywords (×2),
conditions and material names. An item whose core name appears verbatim in the query gets
a bonus, so "居住证签注" beats "居住证申领".

:class:`OneSentenceIndex` is built from plain :class:`ItemDoc` values, so the benchmark and
the evaluation run without a database; ``linli.catalogue.search`` builds it from the
catalogue and keeps it fresh.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import bm25s
import numpy as np
from pypinyin import lazy_pinyin

from linli.catalogue.data.synonyms import SERVICE_TERMS, STOPWORDS, SYNONYMS

with warnings.catch_warnings():
    # jieba's sources carry invalid escape sequences that warn when they are compiled.
    warnings.simplefilter("ignore", DeprecationWarning)
    import jieba

if TYPE_CHECKING:
    from numpy.typing import NDArray

NAME_WEIGHT = 3
# A query's own words count fully; words it was expanded with count less, so "身份证过期"
# stays about 身份证 although 过期 suggests 换领 in general.
EXPANSION_WEIGHT = 0.5
TYPO_WEIGHT = 0.8
COMMON_MATERIAL_SHARE = 0.2
# jieba words at least this frequent are real words, not typos (事业 is not 失业).
TYPO_MAX_FREQ = 100
KEYWORD_WEIGHT = 2
# Added to the BM25 score when the item's core name appears verbatim in the query.
EXACT_NAME_BONUS = 4.0
REWRITTEN_NAME_BONUS = 1.0
# Suffixes stripped from an item name to get its core ("居住证申领" → "居住证").
_NAME_SUFFIXES = ("申领", "办理", "申请", "发放", "认定", "登记", "出具", "开具", "预约", "审批", "备案")

# Characters a resident may type in traditional script (Hong Kong / Taiwan keyboards).
_TRADITIONAL = str.maketrans(
    "證殘疾補貼戶養醫療業險檢員認領發辦龍齡歲場當書號處縣區鄉鎮街們讓這來個兒孫媽爺"
    "婦產學費錢給幫機車網門牌條記錄遷換續簽優撫烈軍轉職勞動權據請問嗎麼樣沒開關電",
    "证残疾补贴户养医疗业险检员认领发办龙龄岁场当书号处县区乡镇街们让这来个儿孙妈爷"
    "妇产学费钱给帮机车网门牌条记录迁换续签优抚烈军转职劳动权据请问吗么样没开关电",
)
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
# Chinese numerals with a unit (八十, 六十五, 一百零二) or followed by 岁 (三岁) become digits.
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百]*[十百][零〇一二两三四五六七八九十]*|"
                        r"[一二两三四五六七八九](?=周?岁)")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NOT_WORD = re.compile(r"[^0-9a-z\u4e00-\u9fff]+")
_AGE = re.compile(r"(?:(?:年满|满|超过|过了|过|到了|快|今年|已经|都)(\d{1,3}))|(?:(\d{1,3})(?:周岁|岁|多岁|了|多了|出头))")

log = logging.getLogger(__name__)


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
    text = unicodedata.normalize("NFKC", text).lower().translate(_TRADITIONAL)
    text = _CN_NUMBER.sub(lambda m: str(chinese_number(m.group(0))), text)
    return _NOT_WORD.sub(" ", text).strip()


def age_terms(text: str) -> list[str]:
    """Age classes mentioned in a normalised query: 80 → 高龄, 100 → 百岁, 60 → 老年人."""
    terms: list[str] = []
    for match in _AGE.finditer(text):
        years = int(match.group(1) or match.group(2))
        if years >= 100:
            terms += ["百岁", "高龄", "老年人"]
        elif years >= 80:
            terms += ["高龄", "老年人"]
        elif years >= 60:
            terms += ["老年人"]
    return terms


class _Synonyms:
    """Leftmost-longest matching of everyday expressions: "丢了工作" wins over "丢了"."""

    def __init__(self, table: Iterable[tuple[str, str]]) -> None:
        self._by_first: dict[str, list[tuple[str, list[str]]]] = {}
        for phrase, terms in table:
            key = normalise(phrase).replace(" ", "")
            self._by_first.setdefault(key[0], []).append((key, terms.split()))
        for entries in self._by_first.values():
            entries.sort(key=lambda entry: -len(entry[0]))

    def expand(self, text: str) -> list[str]:
        return self.rewrite(text)[0]

    def rewrite(self, text: str) -> tuple[list[str], str]:
        """The official terms found, and the text with each expression replaced by them."""
        found: list[str] = []
        out: list[str] = []
        i = 0
        while i < len(text):
            for phrase, terms in self._by_first.get(text[i], ()):
                if text.startswith(phrase, i):
                    found += terms
                    out.append("".join(terms))
                    i += len(phrase)
                    break
            else:
                out.append(text[i])
                i += 1
        return found, "".join(out)


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


_synonyms = _Synonyms(SYNONYMS)


def tokens(text: str) -> list[str]:
    """Search tokens of already normalised text: jieba words and sub-words, minus stopwords."""
    tk = tokenizer()
    return [
        word for chunk in text.split() for word in tk.cut_for_search(chunk, HMM=True)
        if word.strip() and word not in STOPWORDS
    ]


@lru_cache(maxsize=8192)
def _char_pinyin(ch: str) -> str:
    return lazy_pinyin(ch)[0] if _CJK.match(ch) else ch


def pinyin_key(word: str) -> str:
    """Toneless pinyin, the key under which a homophone typo (低宝 → 低保) finds its word."""
    return " ".join(_char_pinyin(ch) for ch in word)


@dataclass(frozen=True)
class QueryTerms:
    """A query's own tokens and the terms it was expanded with (synonyms, ages, typos)."""

    text: str
    own: tuple[str, ...]
    expanded: tuple[str, ...]
    # The text with everyday expressions replaced by official terms (for exact names).
    rewritten: str = ""


def query_terms(query: str) -> QueryTerms:
    """Normalise, segment and expand a query (typo correction is done by the index, which
    knows its vocabulary)."""
    text = normalise(query)
    if not text:
        return QueryTerms("", (), ())
    compact = text.replace(" ", "")
    found, rewritten = _synonyms.rewrite(compact)
    expanded = found + age_terms(text)
    return QueryTerms(compact, tuple(tokens(text)), tuple(t for term in expanded for t in tokens(normalise(term))),
                      rewritten)


def query_tokens(query: str) -> list[str]:
    """Every token a query is scored with (own first, then expansions)."""
    terms = query_terms(query)
    return [*terms.own, *terms.expanded]


@dataclass(frozen=True)
class ItemDoc:
    """What the search reads of one item."""

    code: str
    name: str
    department: str = ""
    keywords: str = ""
    conditions: str = ""
    materials: tuple[str, ...] = ()
    item_id: int | None = None


@dataclass(frozen=True)
class SearchHit:
    """One ranked item with the query terms that matched it."""

    item_id: int | None
    code: str
    name: str
    score: float
    matched_terms: tuple[str, ...]


def core_name(name: str) -> str:
    core = normalise(name).replace(" ", "")
    for suffix in _NAME_SUFFIXES:
        if core.endswith(suffix) and len(core) > len(suffix) + 1:
            return core[: -len(suffix)]
    return core


class OneSentenceIndex:
    """BM25 over the items' text, built once; :meth:`search` answers in well under a
    millisecond for a thousand items."""

    def __init__(self, items: Sequence[ItemDoc]) -> None:
        self.items: tuple[ItemDoc, ...] = tuple(items)
        self._cores = [core_name(doc.name) for doc in self.items]
        corpus: list[list[str]] = []
        salient: set[str] = set(SERVICE_TERMS)
        # A material most items ask for (居民身份证) says nothing about which item is meant
        # and would drown 身份证 in "身份证丢了"; index only the distinctive ones.
        material_df = Counter(m for doc in self.items for m in set(doc.materials))
        common = {m for m, n in material_df.items() if n > max(3, len(self.items) * COMMON_MATERIAL_SHARE)}
        for doc in self.items:
            name = tokens(normalise(doc.name))
            keywords = tokens(normalise(doc.keywords))
            materials = [m for m in doc.materials if m not in common]
            rest = tokens(normalise(" ".join((doc.conditions, doc.department, *materials))))
            corpus.append(name * NAME_WEIGHT + keywords * KEYWORD_WEIGHT + rest)
            salient.update(t for t in (*name, *keywords) if len(t) >= 2)
        self._doc_terms = [frozenset(doc) for doc in corpus]
        self._bm25 = bm25s.BM25(k1=1.2, b=0.75)
        self._token_ids: dict[str, int] = {}
        if self.items:
            self._bm25.index(corpus, show_progress=False)
            columns = len(self._bm25.scores["indptr"]) - 1
            self._token_ids = {t: i for t, i in self._bm25.vocab_dict.items() if t and i < columns}
        # Homophone typos: the salient words of the catalogue by their toneless pinyin.
        self._by_pinyin: dict[str, list[str]] = {}
        for word in sorted(salient):
            if word in self._token_ids and _CJK.match(word):
                self._by_pinyin.setdefault(pinyin_key(word), []).append(word)

    def __len__(self) -> int:
        return len(self.items)

    def _typo_terms(self, text: str) -> list[str]:
        """Catalogue words sounding like a 2-4 character stretch of the query that is
        neither a catalogue word nor a common Chinese word (低宝 → 低保, 残疾症 → 残疾证)."""
        tk = tokenizer()
        freq = tk.FREQ
        # Characters inside a word the catalogue knows are not typos: "伤残军人" must not
        # read 残军 as 参军.
        known = [False] * len(text)
        for word, lo, hi in tk.tokenize(text, mode="search"):
            if len(word) >= 2 and word in self._token_ids:
                known[lo:hi] = [True] * (hi - lo)
        found: list[str] = []
        for start in range(len(text)):
            for size in (4, 3, 2):
                chunk = text[start:start + size]
                if len(chunk) < size or chunk in self._token_ids or not all(_CJK.match(c) for c in chunk):
                    continue
                if all(known[start:start + size]):
                    continue
                if freq.get(chunk, 0) >= TYPO_MAX_FREQ:
                    continue
                for word in self._by_pinyin.get(pinyin_key(chunk), ()):
                    if word not in text:
                        found.append(word)
                        found += [t for term in _synonyms.expand(word) for t in tokens(normalise(term))]
        return found

    def _weights(self, query: str) -> tuple[str, str, dict[int, float]]:
        """The query's text for exact names (own and rewritten) and a weight per token id."""
        terms = query_terms(query)
        weights: dict[str, float] = {}
        for token in terms.own:
            weights[token] = 1.0
        for token, weight in [*((t, EXPANSION_WEIGHT) for t in terms.expanded),
                              *((t, TYPO_WEIGHT) for t in self._typo_terms(terms.text))]:
            if token not in weights or weights[token] < 1.0:
                weights[token] = min(1.0, weights.get(token, 0.0) + weight)
        return terms.text, terms.rewritten, {self._token_ids[t]: w for t, w in weights.items() if t in self._token_ids}

    def _scores(self, weights: dict[int, float]) -> NDArray[np.float32]:
        data, indices, indptr = (self._bm25.scores[k] for k in ("data", "indices", "indptr"))
        scores = np.zeros(len(self.items), dtype=np.float32)
        for token_id, weight in weights.items():
            lo, hi = indptr[token_id], indptr[token_id + 1]
            # Within one token's column each document appears once: plain += is exact.
            scores[indices[lo:hi]] += weight * data[lo:hi]
        return scores

    def search(self, query: str, *, limit: int = 5) -> list[SearchHit]:
        """The best ``limit`` items for ``query``; nothing for an empty or meaningless query."""
        if not self.items or limit <= 0:
            return []
        text, rewritten, weights = self._weights(query)
        if not weights:
            return []
        scores = self._scores(weights)
        for index, core in enumerate(self._cores):
            if len(core) < 2:
                continue
            if core in text:
                scores[index] += EXACT_NAME_BONUS + len(core) * 0.1
            elif core in rewritten:
                # Named in everyday words (残疾证 for 残疾人证): a nudge, not a verdict.
                scores[index] += REWRITTEN_NAME_BONUS + len(core) * 0.1
        candidates = np.flatnonzero(scores > 0)
        if candidates.size == 0:
            return []
        top = candidates[np.argsort(-scores[candidates], kind="stable")[:limit]]
        by_id = {i: t for t, i in self._token_ids.items()}
        matched_all = [by_id[i] for i in weights]
        hits = []
        for index in top.tolist():
            doc = self.items[index]
            matched = tuple(t for t in matched_all if t in self._doc_terms[index])
            hits.append(SearchHit(doc.item_id, doc.code, doc.name, round(float(scores[index]), 4), matched))
        return hits
