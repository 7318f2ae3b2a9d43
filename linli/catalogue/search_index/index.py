"""The one-sentence index: two BM25 views of every item and the ranking of a query.

A query is normalised, rewritten with the synonym table, segmented, and corrected for typos
typed by sound. Each item is scored by

- BM25 over its **words** (jieba): name ×3, keywords ×2, conditions, department and the
  distinctive material names; the query's own words count fully, words it was expanded
  with (synonyms, age classes, typo corrections) less;
- BM25 over its **characters and character pairs** (name ×3, keywords ×2), weighted lower:
  it still finds an item when jieba cuts the query elsewhere than the item (油烟熏 → 油 /
  烟熏) or a separable word is split (摆个摊);
- a bonus when the item's core name appears in the query, verbatim or once rewritten, and
  a small one for every item of a life event the query names (出生, 身后, 退役 …, the
  一件事 bundles of Zhejiang's service halls).

:meth:`OneSentenceIndex.answer` adds the decision whether any item answers the query at all
(:mod:`linli.catalogue.search_index.decision`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import bm25s
import numpy as np

from linli.catalogue.data.life_events import LIFE_EVENTS
from linli.catalogue.data.synonyms import SERVICE_TERMS, STOPWORDS, SYNONYMS
from linli.catalogue.search_index import decision
from linli.catalogue.search_index.lexicon import Expansion, Synonyms, fuzzy_pinyin_key, pinyin_key
from linli.catalogue.search_index.text import (
    CJK,
    age_terms,
    char_grams,
    normalise,
    tokenizer,
    tokens,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

NAME_WEIGHT = 3
KEYWORD_WEIGHT = 2
# A query's own words count fully; words it was expanded with count less, so "身份证过期"
# stays about 身份证 although 过期 suggests 换领 in general.
EXPANSION_WEIGHT = 0.5
TYPO_WEIGHT = 0.8
FUZZY_TYPO_WEIGHT = 0.5
# The character view, relative to the word view.
CHAR_WEIGHT = 0.5
REWRITTEN_GRAM_WEIGHT = 0.5
COMMON_MATERIAL_SHARE = 0.2
# jieba words at least this frequent are real words, not typos (事业 is not 失业).
TYPO_MAX_FREQ = 100
# Added to the score when the item's core name appears verbatim in the query.
EXACT_NAME_BONUS = 4.0
REWRITTEN_NAME_BONUS = 1.0
LIFE_EVENT_BONUS = 1.5
# The no-match decision was calibrated on the seed catalogue (182 items); BM25 scores of a
# catalogue of a handful of items are on another scale, so below this size every ranked
# query counts as answered.
DECISION_MIN_ITEMS = 50
# Suffixes stripped from an item name to get its core ("居住证申领" → "居住证").
_NAME_SUFFIXES = ("申领", "办理", "申请", "发放", "认定", "登记", "出具", "开具", "预约", "审批", "备案")

_synonyms = Synonyms(SYNONYMS)


@dataclass(frozen=True)
class QueryTerms:
    """A query's own tokens and the terms it was expanded with (synonyms, ages, typos)."""

    text: str
    own: tuple[str, ...]
    expanded: tuple[str, ...]
    # The text with everyday expressions replaced by official terms (for exact names).
    rewritten: str = ""
    # Positions of ``text`` inside an expression of the synonym table.
    explained: frozenset[int] = frozenset()


def query_terms(query: str) -> QueryTerms:
    """Normalise, segment and expand a query (typo correction is done by the index, which
    knows its vocabulary)."""
    text = normalise(query)
    if not text:
        return QueryTerms("", (), ())
    compact = text.replace(" ", "")
    expansion: Expansion = _synonyms.rewrite(compact)
    expanded = expansion.terms + age_terms(text)
    return QueryTerms(compact, tuple(tokens(text)), tuple(t for term in expanded for t in tokens(normalise(term))),
                      expansion.rewritten, frozenset(expansion.explained))


def query_tokens(query: str) -> list[str]:
    """Every token a query is scored with (own first, then expansions)."""
    terms = query_terms(query)
    return [*terms.own, *terms.expanded]


def content_positions(text: str) -> set[int]:
    """Positions of the characters of compact ``text`` that belong to a word carrying
    meaning (not a stopword, not a lone particle)."""
    out: set[int] = set()
    for word, lo, hi in tokenizer().tokenize(text):
        if word.strip() and word not in STOPWORDS and CJK.match(word[0]):
            out.update(range(lo, hi))
    return out


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


@dataclass(frozen=True)
class SearchAnswer:
    """The ranked candidates and whether any of them answers the query.

    ``hits`` is what a person is shown: the candidates when the query is answered, nothing
    when no item fits (then the page offers the 12345 hotline and the service window).
    """

    candidates: tuple[SearchHit, ...]
    matched: bool
    confidence: float

    @property
    def hits(self) -> tuple[SearchHit, ...]:
        return self.candidates if self.matched else ()


def core_name(name: str) -> str:
    core = normalise(name).replace(" ", "")
    for suffix in _NAME_SUFFIXES:
        if core.endswith(suffix) and len(core) > len(suffix) + 1:
            return core[: -len(suffix)]
    return core


class _Channel:
    """BM25 over one tokenisation of the items, scored with a weight per token."""

    def __init__(self, corpus: list[list[str]]) -> None:
        self.bm25 = bm25s.BM25(k1=1.2, b=0.75)
        self.ids: dict[str, int] = {}
        self.size = len(corpus)
        if corpus:
            self.bm25.index(corpus, show_progress=False)
            columns = len(self.bm25.scores["indptr"]) - 1
            self.ids = {t: i for t, i in self.bm25.vocab_dict.items() if t and i < columns}

    def scores(self, weights: dict[str, float]) -> NDArray[np.float32]:
        out = np.zeros(self.size, dtype=np.float32)
        if not self.ids:
            return out
        data, indices, indptr = (self.bm25.scores[k] for k in ("data", "indices", "indptr"))
        for token, weight in weights.items():
            token_id = self.ids.get(token)
            if token_id is None:
                continue
            lo, hi = indptr[token_id], indptr[token_id + 1]
            # Within one token's column each document appears once: plain += is exact.
            out[indices[lo:hi]] += weight * data[lo:hi]
        return out


@dataclass(frozen=True)
class _Ranking:
    """Everything :meth:`OneSentenceIndex.answer` needs of one ranked query."""

    terms: QueryTerms
    scores: NDArray[np.float32]
    words: dict[str, float]
    # Query positions a typo correction explained.
    typo_positions: frozenset[int]
    events: tuple[str, ...]


class OneSentenceIndex:
    """The catalogue's items, indexed twice; :meth:`search` answers in about a millisecond
    for a thousand items."""

    def __init__(self, items: Sequence[ItemDoc]) -> None:
        self.items: tuple[ItemDoc, ...] = tuple(items)
        self._cores = [core_name(doc.name) for doc in self.items]
        self._position = {doc.code: i for i, doc in enumerate(self.items)}
        words: list[list[str]] = []
        grams: list[list[str]] = []
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
            words.append(name * NAME_WEIGHT + keywords * KEYWORD_WEIGHT + rest)
            grams.append(char_grams(normalise(doc.name)) * NAME_WEIGHT
                         + char_grams(normalise(doc.keywords)) * KEYWORD_WEIGHT)
            salient.update(t for t in (*name, *keywords) if len(t) >= 2)
        self._doc_terms = [frozenset(doc) for doc in words]
        self._doc_pairs = [frozenset(g for g in doc if len(g) == 2) for doc in grams]
        # How specific a word is: log(items / items containing it). 补贴 is in dozens of
        # items and says little; 燃油 is in one.
        frequency = Counter(t for terms in self._doc_terms for t in terms)
        self._specificity = {t: math.log(len(self.items) / n) for t, n in frequency.items()}
        self._words = _Channel(words)
        self._grams = _Channel(grams)
        # Homophone typos: the salient words of the catalogue and the everyday expressions
        # of the synonym table, by their toneless (and their fuzzy) pinyin.
        self._by_pinyin: dict[str, list[str]] = {}
        self._by_fuzzy: dict[str, list[str]] = {}
        sounds = sorted({w for w in salient if w in self._words.ids}
                        | {p for p in _synonyms.phrases if 2 <= len(p) <= 4})
        for word in sounds:
            if all(CJK.match(ch) for ch in word):
                self._by_pinyin.setdefault(pinyin_key(word), []).append(word)
                self._by_fuzzy.setdefault(fuzzy_pinyin_key(word), []).append(word)

    def __len__(self) -> int:
        return len(self.items)

    def _expand_word(self, word: str) -> list[str]:
        """A corrected word as search tokens: itself, and its synonyms' terms."""
        terms = _synonyms.phrases.get(word)
        found = [word] if word in self._words.ids else []
        if terms:
            found += [t for term in terms for t in tokens(normalise(term))]
        return found

    def _typo_terms(self, text: str) -> tuple[list[tuple[str, float]], set[int]]:
        """Catalogue words and everyday expressions sounding like a 2-4 character stretch
        of the query that is neither a word the index knows nor a common Chinese word
        (低宝 → 低保, 残疾症 → 残疾证, 失叶 → 失业); with the positions they explain."""
        tk = tokenizer()
        freq = tk.FREQ
        # Characters inside a word the catalogue knows are not typos: "伤残军人" must not
        # read 残军 as 参军.
        known = [False] * len(text)
        for word, lo, hi in tk.tokenize(text, mode="search"):
            if len(word) >= 2 and (word in self._words.ids or word in _synonyms.phrases):
                known[lo:hi] = [True] * (hi - lo)
        # A typo is a stretch jieba could not read as words; a stretch that cuts through a
        # word ("烟雾报警器": 雾报 sounds like 五保) is two real words, not a typo.
        word_span: list[tuple[int, int] | None] = [None] * len(text)
        for word, lo, hi in tk.tokenize(text, HMM=False):
            if len(word) >= 2:
                word_span[lo:hi] = [(lo, hi)] * (hi - lo)
        found: list[tuple[str, float]] = []
        where: set[int] = set()
        for start in range(len(text)):
            for size in (4, 3, 2):
                chunk = text[start:start + size]
                if len(chunk) < size or chunk in self._words.ids or chunk in _synonyms.phrases:
                    continue
                if not all(CJK.match(c) for c in chunk) or all(known[start:start + size]):
                    continue
                spans = [word_span[p] for p in range(start, start + size)]
                if any(span is not None and (span[0] < start or span[1] > start + size) for span in spans):
                    continue
                if freq.get(chunk, 0) >= TYPO_MAX_FREQ:
                    continue
                exact = [w for w in self._by_pinyin.get(pinyin_key(chunk), ()) if w not in text]
                fuzzy = [w for w in self._by_fuzzy.get(fuzzy_pinyin_key(chunk), ())
                         if w not in text and w not in exact] if size >= 3 else []
                for word, weight in [*((w, TYPO_WEIGHT) for w in exact), *((w, FUZZY_TYPO_WEIGHT) for w in fuzzy)]:
                    found += [(t, weight) for t in self._expand_word(word)]
                    where.update(range(start, start + size))
        return found, where

    def _rank(self, query: str) -> _Ranking | None:
        terms = query_terms(query)
        if not terms.text:
            return None
        words: dict[str, float] = {}
        for token in terms.own:
            words[token] = 1.0
        typos, typo_positions = self._typo_terms(terms.text)
        for token, weight in [*((t, EXPANSION_WEIGHT) for t in terms.expanded), *typos]:
            if words.get(token, 0.0) < 1.0:
                words[token] = min(1.0, words.get(token, 0.0) + weight)
        words = {t: w for t, w in words.items() if t in self._words.ids}
        grams = dict.fromkeys(char_grams(terms.text), 1.0)
        for gram in char_grams(terms.rewritten):
            if len(gram) == 2:  # a lone character of an official term says too little
                grams.setdefault(gram, REWRITTEN_GRAM_WEIGHT)
        scores = self._words.scores(words) + CHAR_WEIGHT * self._grams.scores(grams)
        if not words and not np.any(scores > 0):
            return None
        for index, core in enumerate(self._cores):
            if len(core) < 2:
                continue
            if core in terms.text:
                scores[index] += EXACT_NAME_BONUS + len(core) * 0.1
            elif core in terms.rewritten:
                # Named in everyday words (残疾证 for 残疾人证): a nudge, not a verdict.
                scores[index] += REWRITTEN_NAME_BONUS + len(core) * 0.1
        events = self._life_events(terms)
        for event in events:
            for code in LIFE_EVENTS[event].items:
                position = self._position.get(code)
                if position is not None and scores[position] > 0:
                    scores[position] += LIFE_EVENT_BONUS
        return _Ranking(terms, scores, words, frozenset(typo_positions), events)

    @staticmethod
    def _life_events(terms: QueryTerms) -> tuple[str, ...]:
        found = set(terms.own) | set(terms.expanded)
        return tuple(name for name, event in LIFE_EVENTS.items()
                     if any(t in found or t in terms.rewritten for t in event.triggers))

    def _hits(self, ranking: _Ranking, limit: int) -> list[SearchHit]:
        scores = ranking.scores
        candidates = np.flatnonzero(scores > 0)
        if candidates.size == 0:
            return []
        top = candidates[np.argsort(-scores[candidates], kind="stable")[:limit]]
        hits = []
        for index in top.tolist():
            doc = self.items[index]
            matched = tuple(t for t in ranking.words if t in self._doc_terms[index])
            hits.append(SearchHit(doc.item_id, doc.code, doc.name, round(float(scores[index]), 4), matched))
        return hits

    def search(self, query: str, *, limit: int = 5) -> list[SearchHit]:
        """The best ``limit`` items for ``query`` by score; nothing for an empty or
        meaningless query. Ranks only: :meth:`answer` also decides whether any fits."""
        if not self.items or limit <= 0:
            return []
        ranking = self._rank(query)
        return [] if ranking is None else self._hits(ranking, limit)

    def answer(self, query: str, *, limit: int = 3) -> SearchAnswer:
        """The best ``limit`` items and whether they answer ``query`` (see
        :mod:`~linli.catalogue.search_index.decision`)."""
        if not self.items or limit <= 0:
            return SearchAnswer((), matched=False, confidence=0.0)
        ranking = self._rank(query)
        if ranking is None:
            return SearchAnswer((), matched=False, confidence=0.0)
        hits = self._hits(ranking, max(limit, 2))
        if not hits:
            return SearchAnswer((), matched=False, confidence=0.0)
        if len(self.items) < DECISION_MIN_ITEMS:
            return SearchAnswer(tuple(hits[:limit]), matched=True, confidence=1.0)
        confidence = decision.confidence(self.features(ranking, hits))
        return SearchAnswer(tuple(hits[:limit]), matched=confidence >= decision.THRESHOLD,
                            confidence=round(confidence, 4))

    def answer_features(self, query: str) -> decision.Features | None:
        """The no-match decision's features of ``query`` (None when nothing ranks at all)."""
        ranking = self._rank(query) if self.items else None
        if ranking is None:
            return None
        hits = self._hits(ranking, 2)
        return self.features(ranking, hits) if hits else None

    def features(self, ranking: _Ranking, hits: Sequence[SearchHit]) -> decision.Features:
        """What the no-match decision reads of a ranked query."""
        text = ranking.terms.text
        content = content_positions(text)
        top = self._position[hits[0].code]
        doc_terms = self._doc_terms[top]
        explained = set(ranking.terms.explained) | set(ranking.typo_positions)
        # Characters of the query inside a word the best item contains.
        for word, lo, hi in tokenizer().tokenize(text, mode="search"):
            if word in doc_terms and word not in STOPWORDS:
                explained.update(range(lo, hi))
        pairs = self._doc_pairs[top]
        for i in range(len(text) - 1):
            if text[i:i + 2] in pairs:
                explained.update((i, i + 1))
        coverage = len(content & explained) / len(content) if content else 0.0
        specificity = max((self._specificity.get(t, 0.0) for t in ranking.words if t in doc_terms), default=0.0)
        return decision.Features(
            score=hits[0].score, coverage=coverage, unexplained=len(content - explained), specificity=specificity,
        )
