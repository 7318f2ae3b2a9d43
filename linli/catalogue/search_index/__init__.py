"""One-sentence search (一句话办事) over service items: pure, offline, no ORM.

A resident types "我妈今年八十了能领什么钱"; the query is normalised (half width, simplified
script, digits), everyday words are mapped to official terms, ages become age classes
(80 → 高龄), typos typed by sound are corrected, and items are ranked by BM25 over their words
and over their characters (:mod:`.index`). :meth:`OneSentenceIndex.answer` also decides
whether any item answers the query at all (:mod:`.decision`).

:class:`OneSentenceIndex` is built from plain :class:`ItemDoc` values, so the benchmark and
the evaluation run without a database; ``linli.catalogue.search`` builds it from the
catalogue and keeps it fresh.
"""

from linli.catalogue.search_index.index import (
    ItemDoc,
    OneSentenceIndex,
    QueryTerms,
    SearchAnswer,
    SearchHit,
    core_name,
    query_terms,
    query_tokens,
)
from linli.catalogue.search_index.lexicon import fuzzy_pinyin_key, pinyin_key
from linli.catalogue.search_index.text import (
    age_terms,
    char_grams,
    chinese_number,
    normalise,
    tokenizer,
    tokens,
)

__all__ = [
    "ItemDoc", "OneSentenceIndex", "QueryTerms", "SearchAnswer", "SearchHit", "age_terms", "char_grams",
    "chinese_number", "core_name", "fuzzy_pinyin_key", "normalise", "pinyin_key", "query_terms", "query_tokens",
    "tokenizer", "tokens",
]
