"""Everyday expressions → official terms, and sounds → words.

:class:`Synonyms` rewrites a normalised query with the synonym table: leftmost-longest
("丢了工作" wins over "丢了"); a separable word may have a measure word or particle inside
("摆个摊" is 摆摊, "报了户口" is 报户口); a pattern ``A…B`` matches A followed by B within a
few characters ("工资三个月没发"). It also says which characters of the query it explained,
which the no-match decision reads.

:func:`pinyin_key` and :func:`fuzzy_pinyin_key` give the toneless pinyin of a word, the
second with the distinctions southern speakers (and their input methods) blur merged:
zh/z, ch/c, sh/s, n/l, -ng/-n. A typo typed by sound (低宝 → 低保, 失叶 → 失业) finds its
word under the same key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from pypinyin import lazy_pinyin

from linli.catalogue.search_index.text import CJK, normalise

GAP = "…"
# How far apart the two parts of an ``A…B`` pattern may be (characters between them).
GAP_MAX = 6
# Measure words and particles a separable word may carry inside: 摆(个)摊, 报(了)户口.
FILLERS = frozenset("个了过一下点些次")
# A phrase that already holds a particle is matched only as written ("走了" is not "走过了").
_PARTICLES = frozenset("了的过着")


@dataclass
class Expansion:
    """What the synonym table made of a query."""

    terms: list[str] = field(default_factory=list)
    rewritten: str = ""
    # Positions of the query's characters covered by an expression of the table.
    explained: set[int] = field(default_factory=set)


def _match(text: str, start: int, phrase: str, *, filler: bool) -> int | None:
    """End of ``phrase`` matched at ``start``, allowing one filler inside; None if no match."""
    i, k, skipped = start, 0, not filler
    while k < len(phrase):
        if i < len(text) and text[i] == phrase[k]:
            i += 1
            k += 1
        elif not skipped and k > 0 and i < len(text) and text[i] in FILLERS:
            skipped = True
            i += 1
        else:
            return None
    return i


class Synonyms:
    """The synonym table, compiled for matching."""

    def __init__(self, table: Iterable[tuple[str, str]]) -> None:
        self._by_first: dict[str, list[tuple[str, list[str], bool]]] = {}
        self._gapped: list[tuple[str, str, list[str]]] = []
        self.phrases: dict[str, list[str]] = {}
        for phrase, terms in table:
            words = terms.split()
            if GAP in phrase:
                first, _sep, second = phrase.partition(GAP)
                self._gapped.append((_compact(first), _compact(second), words))
                continue
            key = _compact(phrase)
            filler = len(key) >= 2 and not (set(key) & _PARTICLES)
            self._by_first.setdefault(key[0], []).append((key, words, filler))
            self.phrases[key] = words
        for entries in self._by_first.values():
            entries.sort(key=lambda entry: -len(entry[0]))

    def expand(self, text: str) -> list[str]:
        return self.rewrite(text).terms

    def rewrite(self, text: str) -> Expansion:
        """The official terms found in compact ``text``, the text with each contiguous
        expression replaced by its terms, and the characters explained."""
        out = Expansion()
        parts: list[str] = []
        i = 0
        while i < len(text):
            best: tuple[int, str, list[str]] | None = None
            for phrase, terms, filler in self._by_first.get(text[i], ()):
                if best is not None and len(phrase) < len(best[1]):
                    break  # sorted longest first: nothing longer is left
                end = _match(text, i, phrase, filler=False)
                if end is None and filler:
                    end = _match(text, i, phrase, filler=True)
                if end is not None and (best is None or end < best[0]):
                    best = (end, phrase, terms)
            if best is None:
                parts.append(text[i])
                i += 1
                continue
            end, _phrase, terms = best
            out.terms += terms
            parts.append("".join(terms))
            out.explained.update(range(i, end))
            i = end
        out.rewritten = "".join(parts)
        for first, second, terms in self._gapped:
            for found in re.finditer(re.escape(first), text):
                after = found.end()
                window = text[after:after + GAP_MAX + len(second)]
                at = window.find(second)
                if at < 0:
                    continue
                out.terms += terms
                out.explained.update(range(found.start(), after))
                out.explained.update(range(after + at, after + at + len(second)))
                break
        return out


def _compact(phrase: str) -> str:
    return normalise(phrase).replace(" ", "")


@lru_cache(maxsize=8192)
def _char_pinyin(ch: str) -> str:
    return lazy_pinyin(ch)[0] if CJK.match(ch) else ch


def pinyin_key(word: str) -> str:
    """Toneless pinyin, the key under which a homophone typo (低宝 → 低保) finds its word."""
    return " ".join(_char_pinyin(ch) for ch in word)


_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FUZZY_FINALS = re.compile(r"(?<=[aeiuv])ng$")


@lru_cache(maxsize=8192)
def _fuzzy_syllable(syllable: str) -> str:
    for written, heard in _FUZZY_INITIALS:
        if syllable.startswith(written):
            syllable = heard + syllable[len(written):]
            break
    return _FUZZY_FINALS.sub("n", syllable)


def fuzzy_pinyin_key(word: str) -> str:
    """Pinyin with zh/z, ch/c, sh/s, n/l and -ng/-n merged: 身份 and 生分 share a key."""
    return " ".join(_fuzzy_syllable(_char_pinyin(ch)) for ch in word)
